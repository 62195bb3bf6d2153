package devenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
)

// TestDevEnvironment starts what `make dev` starts, in-process, and checks
// the ready line, that the operator finds the lab tailnet usable, and that
// the SOCKS5 proxy reaches a node of the lab.
func TestDevEnvironment(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test`")
	}
	root := repoRoot()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	env, err := devenv.Start(ctx, devenv.Options{
		CRDDir:      kubetest.CRDDir(),
		SamplesDir:  filepath.Join(root, "config", "samples"),
		StateDir:    t.TempDir(),
		ProxyBinary: proxyBinary(t, root),
		Logf:        t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()

	checkReadyLine(t, env)
	waitFor(t, ctx, "the TailscaleTailnet lab to be Ready", func() error { return tailnetReady(ctx, env.Client) })
	checkSOCKS5(t, ctx, env)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// proxyBinary is bin/proxy when it has been built; without it the pod
// runner is left out, so this test never depends on the proxy's state.
func proxyBinary(t *testing.T, root string) string {
	bin := filepath.Join(root, "bin", "proxy")
	if _, err := os.Stat(bin); err != nil {
		t.Logf("no %s: running without the pod runner", bin)
		return ""
	}
	return bin
}

func checkReadyLine(t *testing.T, env *devenv.Env) {
	t.Helper()
	line := env.ReadyLine()
	fields := strings.Fields(strings.TrimPrefix(line, "tsgw dev ready:"))
	if !strings.HasPrefix(line, "tsgw dev ready: kubeconfig=") {
		t.Errorf("ready line %q does not start with the kubeconfig", line)
	}
	got := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		got[k] = v
	}
	for _, k := range []string{"kubeconfig", "control", "tailscale-api", "tailnet-domain", "socks5"} {
		if got[k] == "" {
			t.Errorf("ready line %q lacks %s=", line, k)
		}
	}
	if want := "try: curl --socks5-hostname " + got["socks5"] + " http://web." + got["tailnet-domain"] + "/"; env.TryLine() != want {
		t.Errorf("try line %q, want %q", env.TryLine(), want)
	}
}

func tailnetReady(ctx context.Context, c client.Client) error {
	tn := &gatewayv1alpha1.TailscaleTailnet{}
	if err := c.Get(ctx, client.ObjectKey{Name: devenv.TailnetName}, tn); err != nil {
		return err
	}
	cond := meta.FindStatusCondition(tn.Status.Conditions, gatewayv1alpha1.ConditionReady)
	if cond == nil || cond.Status != "True" {
		return fmt.Errorf("Ready condition %+v", cond)
	}
	return nil
}

// checkSOCKS5 joins a node to the lab with an auth key from the emulator,
// serves HTTP on it, and fetches that through the SOCKS5 proxy by name.
func checkSOCKS5(t *testing.T, ctx context.Context, env *devenv.Env) {
	t.Helper()
	node, err := env.Lab.NewNode(ctx, lab.NodeOptions{Hostname: "echo", AuthKey: authKey(t, ctx, env), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := node.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "echo") }))
	proxy, _ := url.Parse("socks5h://" + env.Lab.SOCKS5Addr())
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true}}
	target := "http://echo." + env.Lab.Domain() + "/"
	waitFor(t, ctx, "GET "+target+" through SOCKS5", func() error {
		body, err := get(ctx, c, target)
		if err == nil && body != "echo" {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
}

// authKey mints a key through the emulator's API with the OAuth client
// the dev environment stored in the cluster.
func authKey(t *testing.T, ctx context.Context, env *devenv.Env) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	id, secret := oauthCredentials(t, ctx, env)
	res, err := http.PostForm(env.APIURL+"/api/v2/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
	})
	decode(t, res, err, &tok)
	body := `{"capabilities": {"devices": {"create": {"preauthorized": true, "ephemeral": true, "tags": ["tag:test"]}}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.APIURL+"/api/v2/tailnet/-/keys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var key struct {
		Key string `json:"key"`
	}
	res, err = http.DefaultClient.Do(req)
	decode(t, res, err, &key)
	return key.Key
}

func decode(t *testing.T, res *http.Response, err error, v any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %s %s", res.Request.Method, res.Request.URL.Path, res.Status, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func get(ctx context.Context, c *http.Client, u string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// waitFor polls f until it succeeds, failing the test when ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
