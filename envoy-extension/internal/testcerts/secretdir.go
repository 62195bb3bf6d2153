package testcerts

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// SecretDir is a directory laid out as the kubelet mounts a Secret: each
// key is a symlink <key> → ..data/<key>, and ..data is a symlink to a
// directory holding the current files. An update writes a new directory and
// replaces ..data with one rename, so readers see all old or all new files.
type SecretDir struct {
	Path    string
	version int
}

// NewSecretDir writes files (key → contents) into a new SecretDir.
func NewSecretDir(t testing.TB, files map[string][]byte) *SecretDir {
	t.Helper()
	d := &SecretDir{Path: t.TempDir()}
	d.Update(t, files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.Path, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// File is the path of a key, as a container would name it.
func (d *SecretDir) File(key string) string { return filepath.Join(d.Path, key) }

// Update swaps in new contents for the same keys.
func (d *SecretDir) Update(t testing.TB, files map[string][]byte) {
	t.Helper()
	d.version++
	dir := fmt.Sprintf("..v%d", d.version)
	if err := os.Mkdir(filepath.Join(d.Path, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(d.Path, dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(d.Path, "..data_tmp")
	if err := os.Symlink(dir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Path, "..data")); err != nil {
		t.Fatal(err)
	}
}
