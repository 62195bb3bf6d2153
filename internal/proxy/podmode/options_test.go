package podmode

import (
	"strings"
	"testing"
)

func TestIdentityFromEnv(t *testing.T) {
	env := map[string]string{"POD_NAME": "web-0", "POD_NAMESPACE": "apps", "TSGW_POOL": "web"}
	id, err := IdentityFromEnv(func(k string) string { return env[k] })
	if err != nil || id != (Identity{Pod: "web-0", Namespace: "apps", Pool: "web"}) {
		t.Fatalf("IdentityFromEnv = %+v, %v", id, err)
	}
	delete(env, "TSGW_POOL")
	if _, err := IdentityFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TSGW_POOL") {
		t.Fatalf("missing TSGW_POOL: %v", err)
	}
}

func TestListenerPort(t *testing.T) {
	if p, err := listenerPort(":80"); err != nil || p != 80 {
		t.Fatalf(`listenerPort(":80") = %d, %v`, p, err)
	}
	for _, bad := range []string{":0", "80", ":http"} {
		if _, err := listenerPort(bad); err == nil {
			t.Errorf("listenerPort(%q) accepted", bad)
		}
	}
}

func TestRequested(t *testing.T) {
	if !Requested([]string{"--kubeconfig", "k", "--pod"}) || Requested([]string{"--config", "p.yaml"}) {
		t.Fatal("Requested misreads the command line")
	}
}
