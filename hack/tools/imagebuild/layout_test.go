package main

import (
	"archive/tar"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

type layoutImage struct {
	platform v1.Platform
	image    v1.Image
}

// readLayout unpacks the component's tarball (what a release ships) and
// returns the images of the one index its index.json names, in index order.
func readLayout(t *testing.T, r result) []layoutImage {
	t.Helper()
	dir := t.TempDir()
	untar(t, r.tarball, dir)
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 || !topManifest.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("index.json holds %+v, want one image index", topManifest.Manifests)
	}
	desc := topManifest.Manifests[0]
	if desc.Digest != r.index {
		t.Errorf("index.json names %s, digests.txt %s", desc.Digest, r.index)
	}
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != testOptions.version {
		t.Errorf("ref.name %q, want the version %q", got, testOptions.version)
	}
	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var images []layoutImage
	for _, d := range manifest.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, layoutImage{platform: *d.Platform, image: img})
	}
	return images
}

func platformsOf(images []layoutImage) []string {
	var out []string
	for _, img := range images {
		out = append(out, img.platform.String())
	}
	return out
}

// checkImage checks what the issue asks of every image: nonroot, the binary
// as entrypoint, labels, no shell, a parseable CA bundle.
func checkImage(t *testing.T, c component, li layoutImage) {
	t.Helper()
	cfg, err := li.image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	where := c.name + " " + li.platform.String()
	if cfg.OS != li.platform.OS || cfg.Architecture != li.platform.Architecture {
		t.Errorf("%s: config says %s/%s", where, cfg.OS, cfg.Architecture)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532", where, cfg.Config.User)
	}
	if want := "/usr/local/bin/" + c.binary; len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != want {
		t.Errorf("%s: entrypoint %q, want [%s]", where, cfg.Config.Entrypoint, want)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.source":   testOptions.source,
		"org.opencontainers.image.revision": testOptions.commit,
		"org.opencontainers.image.version":  testOptions.version,
		"org.opencontainers.image.title":    c.name,
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	} {
		if got := cfg.Config.Labels[key]; got != want {
			t.Errorf("%s: label %s = %q, want %q", where, key, got, want)
		}
	}

	files := imageFiles(t, li.image)
	for _, forbidden := range []string{"bin/sh", "bin", "usr/bin", "sbin"} {
		if _, ok := files[forbidden]; ok {
			t.Errorf("%s: the image has /%s; it must have no shell", where, forbidden)
		}
	}
	bin, ok := files["usr/local/bin/"+c.binary]
	if !ok || bin.Mode != 0o755 || bin.Uid != 0 {
		t.Errorf("%s: binary %+v, want root-owned, mode 0755", where, bin)
	}
	for name, hdr := range files {
		if hdr.ModTime.Unix() != testOptions.sourceDateEpoch {
			t.Errorf("%s: /%s has mtime %s, want SOURCE_DATE_EPOCH", where, name, hdr.ModTime)
		}
	}
	if !strings.Contains(string(files["etc/passwd"].content), "nonroot:x:65532:65532:") {
		t.Errorf("%s: /etc/passwd has no nonroot 65532:\n%s", where, files["etc/passwd"].content)
	}
	if n := parseCerts(t, files["etc/ssl/certs/ca-certificates.crt"].content); n < 100 {
		t.Errorf("%s: CA bundle holds %d certificates, want the ~150 Mozilla roots", where, n)
	}
}

type imageFile struct {
	*tar.Header
	content []byte // regular files under /etc only: the rest is not read
}

// imageFiles lists the image's flattened filesystem, by path without "/".
func imageFiles(t *testing.T, img v1.Image) map[string]imageFile {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "/"), "/")
		f := imageFile{Header: hdr}
		if strings.HasPrefix(name, "etc/") && hdr.Typeflag == tar.TypeReg {
			if f.content, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		files[name] = f
	}
}

func parseCerts(t *testing.T, bundle []byte) int {
	t.Helper()
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Errorf("CA bundle certificate %d: %v", n, err)
		}
		n++
	}
	if strings.TrimSpace(string(bundle)) != "" {
		t.Errorf("CA bundle has non-PEM content after %d certificates", n)
	}
	return n
}

// untar unpacks the tarball at path into dir: regular files and
// directories only (what tarDir writes), refusing paths that leave dir.
func untar(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, hdr.Name)
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("tarball entry %q leaves the directory", hdr.Name)
		}
		writeEntry(t, tr, hdr, target)
	}
}

// writeEntry creates one tar entry at target with its mode and, when the
// test may (as root), its owner.
func writeEntry(t *testing.T, r io.Reader, hdr *tar.Header, target string) {
	t.Helper()
	mode := hdr.FileInfo().Mode()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
	case tar.TypeReg:
		out, err := os.Create(target)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, r); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unexpected tar entry %q of type %c", hdr.Name, hdr.Typeflag)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			t.Fatal(err)
		}
	}
	// After the chown, which clears set-id and sticky bits.
	if err := os.Chmod(target, mode.Perm()|mode&(os.ModeSticky|os.ModeSetuid|os.ModeSetgid)); err != nil {
		t.Fatal(err)
	}
}
