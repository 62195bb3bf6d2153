package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func namedServer(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func writeConfig(t *testing.T, path, listen, backend string) {
	t.Helper()
	doc := fmt.Sprintf(`admin: {address: "127.0.0.1:0"}
listeners: [{address: %q, service: web}]
services:
  - name: web
    backends: [{name: b, address: %q}]
`, listen, backend)
	replaceFile(t, path, doc)
}

// replaceFile writes a configuration whole, as an operator should (a poll
// may otherwise read it half written): a temporary file renamed into place.
func replaceFile(t *testing.T, path, doc string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func httpGet(url string) (int, string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunReloadAndDrain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "proxy.yaml")
	listen := freePort(t)
	writeConfig(t, path, listen, namedServer(t, "one"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := make(chan net.Addr, 1)
	reload := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: path, Reload: reload, PollInterval: 10 * time.Millisecond,
			Ready: func(a net.Addr) { admin <- a }})
	}()
	adminURL := "http://" + (<-admin).String()
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _, err := httpGet(adminURL + p); err != nil || code != 200 {
			t.Fatalf("%s: %d %v", p, code, err)
		}
	}
	if _, body, err := httpGet("http://" + listen); err != nil || body != "one" {
		t.Fatalf("through the proxy: %q %v", body, err)
	}
	if _, body, _ := httpGet(adminURL + "/metrics"); !strings.Contains(body, `tsgw_proxy_backend_connections_total{backend="b",group="b",service="web"} 1`) {
		t.Fatalf("metrics lack the connection:\n%s", body)
	}

	// A bad file is refused; the old configuration keeps serving.
	replaceFile(t, path, "services: [{name: web, strategy: random}]")
	reload <- struct{}{}
	if _, body, err := httpGet("http://" + listen); err != nil || body != "one" {
		t.Fatalf("after a bad reload: %q %v", body, err)
	}
	// A good change is picked up by polling, without a signal.
	writeConfig(t, path, listen, namedServer(t, "two"))
	waitFor(t, "the new backend", func() bool {
		_, body, _ := httpGet("http://" + listen)
		return body == "two"
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", listen); err == nil {
		t.Fatal("still listening after drain")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.yaml")
	os.WriteFile(path, []byte(`services: [{name: web, backends: [{name: b, address: "nope"}]}]`), 0o600)
	err := Run(context.Background(), Options{ConfigPath: path})
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "services[0].backends[0].address: must be host:port") {
		t.Fatalf("Run = %v, want a ConfigError naming the field", err)
	}
}

func TestServePprof(t *testing.T) {
	stop, addr, err := servePprof("127.0.0.1:0", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/mutex?debug=1", "/debug/pprof/block?debug=1"} {
		if code, _, err := httpGet("http://" + addr.String() + path); err != nil || code != http.StatusOK {
			t.Errorf("GET %s = %d, %v", path, code, err)
		}
	}
}

// TestEmptyFileIsRefused: a file caught while being rewritten in place
// (empty) is refused, not served as a configuration without listeners.
func TestEmptyFileIsRefused(t *testing.T) {
	for _, doc := range []string{"", " \n\t\n"} {
		if _, err := parse([]byte(doc)); !errors.Is(err, errEmptyFile) {
			t.Errorf("parse(%q) = %v, want errEmptyFile", doc, err)
		}
	}
}
