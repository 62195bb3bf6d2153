package lab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
)

// apiClient calls the emulator's HTTP API the way the operator does.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func newAPIClient(t *testing.T, emu *apiemulator.Server) *apiClient {
	api := httptest.NewServer(emu)
	t.Cleanup(api.Close)
	res, err := http.PostForm(api.URL+"/api/v2/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"lab"}, "client_secret": {"secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	decodeJSON(t, res, &token)
	return &apiClient{t: t, base: api.URL + "/api/v2", token: token.AccessToken}
}

func (c *apiClient) do(method, path, body string, out any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	decodeJSON(c.t, res, out)
}

func (c *apiClient) createService(name string) {
	var svc apiemulator.VIPService
	c.do("PUT", "/tailnet/-/vip-services/"+name, `{"ports": ["tcp:80"], "tags": ["tag:demo"]}`, &svc)
	if len(svc.Addrs) == 0 {
		c.t.Fatalf("service %s got no addresses", name)
	}
}

// createKey returns a single-use, preauthorized auth key granting tags.
func (c *apiClient) createKey(tags ...string) string {
	tagsJSON, _ := json.Marshal(tags)
	var key struct {
		Key string `json:"key"`
	}
	c.do("POST", "/tailnet/-/keys", fmt.Sprintf(
		`{"capabilities": {"devices": {"create": {"preauthorized": true, "ephemeral": true, "tags": %s}}}}`, tagsJSON), &key)
	return key.Key
}

func (c *apiClient) deleteDevice(id string) {
	c.do("DELETE", "/device/"+id, "", nil)
}

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", res.Request.Method, res.Request.URL.Path, res.Status, b)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func socksClient(t *testing.T, addr string) *http.Client {
	if addr == "" {
		t.Fatal("no SOCKS5 proxy")
	}
	proxy, _ := url.Parse("socks5h://" + addr)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true},
	}
}

// containedClient is an HTTP client of a lab node that reaches only the
// tailnet (a node's own HTTPClient sends what no peer routes out through
// the host).
func containedClient(t *testing.T, l *lab.Lab, node *tsnet.Server, timeout time.Duration) *http.Client {
	t.Helper()
	d, err := l.Dialer(node)
	if err != nil {
		t.Fatal(err)
	}
	c := d.HTTPClient(timeout)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

func expectBody(c *http.Client, u, want string) error {
	body, err := get(c, u)
	if err != nil {
		return err
	}
	if body != want {
		return fmt.Errorf("body %q, want %q", body, want)
	}
	return nil
}

func get(c *http.Client, u string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Close = true // a fresh connection each time, so it follows the current route
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// eventually polls f until it succeeds or ctx ends.
func eventually(t *testing.T, ctx context.Context, what string, f func() error) {
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
