package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// checkRuns unpacks the image's root filesystem and runs its entrypoint
// chrooted into it as 65532:65532, as a container runtime would but
// without one: only the image's own files are there to use.
func checkRuns(t *testing.T, c component, li layoutImage) {
	if os.Geteuid() != 0 {
		t.Skip("running the binary from the image needs root (chroot, and setuid to 65532); CI runs as root")
	}
	root := extractRootFS(t, li)
	cfg, err := li.image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	entrypoint := cfg.Config.Entrypoint[0]

	out, err := inImage(root, entrypoint, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", entrypoint, err, out)
	}
	t.Logf("in the image, as 65532: %s --version: %s", entrypoint, bytes.TrimSpace(out))
	want := fmt.Sprintf("%s (commit %s, %s)", testOptions.version, testOptions.commit, runtime.Version())
	if !strings.Contains(string(out), want) {
		t.Errorf("%s --version printed %q, want it to contain %q", entrypoint, out, want)
	}
	if c.name == "tsgw-proxy" {
		checkProxyServes(t, root, entrypoint)
	}
}

// inImage is a command that runs path inside root as the images' user.
func inImage(root, path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: nonrootID, Gid: nonrootID},
		Pdeathsig:  syscall.SIGKILL, // no proxy left behind if the test dies
	}
	return cmd
}

// checkProxyServes starts tsgw-proxy in standalone mode on a sample
// configuration (one listener, one backend run by the test) and waits for
// its admin /readyz and a connection through it.
func checkProxyServes(t *testing.T, root, entrypoint string) {
	backend := listen(t)
	go func() {
		for {
			conn, err := backend.Accept()
			if err != nil {
				return
			}
			io.WriteString(conn, "hello from the backend\n")
			conn.Close()
		}
	}()
	admin, listener := freePort(t), freePort(t)
	config := fmt.Sprintf(`admin: {address: %q}
listeners: [{address: %q, service: web}]
services:
  - name: web
    backends: [{name: b, address: %q}]
`, admin, listener, backend.Addr().String())
	// In the image's /tmp (mode 1777), where the nonroot user can read it.
	if err := os.WriteFile(filepath.Join(root, "tmp", "proxy.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := inImage(root, entrypoint, "--config", "/tmp/proxy.yaml")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("tsgw-proxy's log:\n%s", logs.String())
		}
	}()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("tsgw-proxy exited before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tsgw-proxy not ready on %s after 30s (last: %v)", admin, err)
		}
	}
	conn, err := net.DialTimeout("tcp", listener, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from the backend\n" {
		t.Errorf("through tsgw-proxy: %q, want the backend's greeting", got)
	}
}

// extractRootFS writes the image's flattened filesystem to a new directory
// with the image's modes and owners.
func extractRootFS(t *testing.T, li layoutImage) string {
	t.Helper()
	root := t.TempDir()
	// t.TempDir is 0700; the root of a filesystem is 0755.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(li.image)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Clean("/" + hdr.Name)
		writeEntry(t, tr, hdr, filepath.Join(root, name))
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// freePort is a loopback address nothing listens on right now (the
// proxy binds it a moment later; a collision would fail the test loudly).
func freePort(t *testing.T) string {
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}
