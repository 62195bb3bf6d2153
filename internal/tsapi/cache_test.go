package tsapi_test

import (
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func TestCacheRebuildsOnCredentialChange(t *testing.T) {
	builds := 0
	cache := tsapi.NewCache(func(cfg tsapi.Config) (tsapi.Client, error) {
		builds++
		return tsapi.New(cfg)
	})
	cfg := tsapi.Config{BaseURL: "http://127.0.0.1:1", ClientID: "id", ClientSecret: "one"}
	steps := []struct {
		name, tailnet, secret, version string
		wantBuilds                     int
	}{
		{"first use builds", "a", "one", "1", 1},
		{"same credentials reuse", "a", "one", "1", 1},
		{"new Secret version rebuilds", "a", "one", "2", 2},
		{"new secret rebuilds", "a", "two", "2", 3},
		{"other tailnet has its own", "b", "two", "2", 4},
		{"first tailnet still cached", "a", "two", "2", 4},
	}
	for _, s := range steps {
		c := cfg
		c.ClientSecret = s.secret
		if _, err := cache.Get(s.tailnet, c, s.version); err != nil {
			t.Fatal(err)
		}
		if builds != s.wantBuilds {
			t.Fatalf("%s: builds = %d, want %d", s.name, builds, s.wantBuilds)
		}
	}
	cache.Forget("a")
	if _, err := cache.Get("a", cfg, "2"); err != nil || builds != 5 {
		t.Errorf("after Forget: builds = %d, err = %v", builds, err)
	}
}
