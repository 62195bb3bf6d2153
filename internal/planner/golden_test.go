package planner_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/tailscale-gateway/tailscale-gateway/internal/cabundle"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// input is a testdata/*.in.yaml file.
type input struct {
	ControlURL string           `json:"controlURL"`
	OperatorID string           `json:"operatorID"`
	Observed   planner.Observed `json:"observed"`
}

// output is a testdata/*.out.yaml file.
type output struct {
	// VIPService is what this operator writes as the service's owner;
	// ConsumerRegistry is the registry it writes instead when another
	// operator owns the service and both sides consent to share it;
	// SharingConflict is what it reports instead, writing nothing, when
	// they do not (the input's registry and spec say so).
	VIPService       *tsapi.VIPService             `json:"vipService,omitempty"`
	ConsumerRegistry *coordination.Registry        `json:"consumerRegistry,omitempty"`
	SharingConflict  *planner.Problem              `json:"sharingConflict,omitempty"`
	ProxyConfigs     map[string]proxyconfig.Config `json:"proxyConfigs"`
	// ClusterPorts are each pool's EndpointSlice ports of the in-cluster
	// Service.
	ClusterPorts map[string]map[string][]planner.ClusterPort `json:"clusterPorts"`
	Status       any                                         `json:"status"`
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			got := plan(t, in)
			golden := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from the plan (-golden +plan; go test -update rewrites it):\n%s", golden, diff)
			}
		})
	}
}

func plan(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var in input
	if err := yaml.UnmarshalStrict(raw, &in); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	o := in.Observed
	entry := planner.RegistryEntry(in.OperatorID, o.Service)
	out := output{
		ProxyConfigs: map[string]proxyconfig.Config{},
		ClusterPorts: map[string]map[string][]planner.ClusterPort{},
		Status:       planner.Status(o),
	}
	use := coordination.Decision{Use: coordination.Own}
	if o.Registry != nil {
		use = coordination.Decide(*o.Registry, entry, planner.AsksToJoin(o.Service.Object, o.Service.VIPName()))
	}
	switch use.Use {
	case coordination.Join:
		reg := coordination.Attach(*o.Registry, entry, o.Now.Time)
		out.ConsumerRegistry = &reg
	case coordination.Conflict:
		out.SharingConflict = planner.SharingConflict(o.Service.VIPName(), use)
	default:
		vip := planner.DesiredVIPService(o.Service, coordination.ForOwner(o.Registry, entry, o.Now.Time))
		out.VIPService = &vip
	}
	for _, p := range o.Service.Pools {
		cfg, ports, err := planner.PoolConfig(p, in.ControlURL, []planner.Service{o.Service})
		if err != nil {
			t.Fatal(err)
		}
		// Every rendered configuration must be one the proxies accept.
		rendered, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := proxyconfig.Parse(rendered); err != nil {
			t.Errorf("config of pool %s is invalid: %v", p.Name, err)
		}
		checkCAs(t, p.Name, cfg)
		out.ProxyConfigs[p.Name] = cfg
		out.ClusterPorts[p.Name] = ports
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCAs fails when a CA in the configuration holds anything but X.509
// certificates: a proxy refuses a CA without one, and with it the whole
// configuration of its pool.
func checkCAs(t *testing.T, pool string, cfg proxyconfig.Config) {
	t.Helper()
	for _, s := range cfg.Services {
		for _, b := range s.Backends {
			if b.TLS == nil || b.TLS.CA == "" {
				continue
			}
			if got := cabundle.Parse([]byte(b.TLS.CA)); got.Dropped > 0 || string(got.PEM) != b.TLS.CA {
				t.Errorf("pool %s, %s, backend %s: the CA holds more than certificates (%d dropped)", pool, s.Name, b.Name, got.Dropped)
			}
		}
	}
}
