package chart

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/action"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Each case is a values file under testdata ("" for the defaults) and the
// golden files of its manifest and NOTES.txt.
var renderCases = []struct{ name, values string }{
	{"defaults", ""},
	{"all", "values-all.yaml"},
	{"tailnet", "values-tailnet.yaml"},
}

func TestLint(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			res := lint.Run([]string{chartDir()}, valuesFile(t, c.values))
			for _, m := range res.Messages {
				t.Logf("lint: %s", m)
			}
			if len(res.Errors) > 0 {
				t.Errorf("helm lint --strict: %v", res.Errors)
			}
		})
	}
}

func TestRenderGolden(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			rel := mustRender(t, valuesFile(t, c.values))
			golden(t, c.name+".yaml", rel.Manifest)
			golden(t, c.name+".notes.txt", rel.Info.Notes)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +rendered); if the change is meant, run the test with -update:\n%s", path, d)
	}
}

// The defaults carry config/manager's settings into the Deployment, and
// every value reaches the object it is for.
func TestRenderValuesReachTheirObjects(t *testing.T) {
	objs := objects(t, mustRender(t, valuesFile(t, "")).Manifest)
	dep := find(objs, "Deployment", "tsgw-tailscale-gateway")
	if dep == nil {
		t.Fatal("no Deployment tsgw-tailscale-gateway")
	}
	args := containerArgs(t, dep)
	for _, want := range []string{"--leader-elect=true", "--proxy-image=ghcr.io/tailscale-gateway/tsgw-proxy:0.1.0-dev", "--default-tailnet=default"} {
		if !slices.Contains(args, want) {
			t.Errorf("default args %v lack %s", args, want)
		}
	}
	if find(objs, "ServiceMonitor", "tsgw-tailscale-gateway") != nil || find(objs, "TailscaleTailnet", "default") != nil {
		t.Error("the defaults must render neither a ServiceMonitor nor a TailscaleTailnet")
	}

	objs = objects(t, mustRender(t, valuesFile(t, "values-all.yaml")).Manifest)
	dep = find(objs, "Deployment", "gateway")
	if dep == nil {
		t.Fatal("no Deployment gateway (fullnameOverride)")
	}
	args = containerArgs(t, dep)
	for _, want := range []string{
		"--proxy-image=registry.example.com/tsgw/tsgw-proxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"--operator-id=cluster-east", "--default-tailnet=corp", "--zap-log-level=debug",
		"--metrics-bind-address=:9080", "--health-probe-bind-address=:9081", "--zap-encoder=console",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for kind, name := range map[string]string{
		"ServiceAccount": "gateway-operator", "ClusterRole": "gateway", "ClusterRoleBinding": "gateway",
		"Role": "gateway-leader-election", "RoleBinding": "gateway-leader-election",
		"Service": "gateway-metrics", "ServiceMonitor": "gateway", "TailscaleTailnet": "corp",
	} {
		if find(objs, kind, name) == nil {
			t.Errorf("no %s %s", kind, name)
		}
	}
}

func containerArgs(t *testing.T, dep interface {
	UnstructuredContent() map[string]any
}) []string {
	t.Helper()
	containers := dep.UnstructuredContent()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	var args []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

// The CRDs the chart installs are config/crd/bases's, byte for byte after
// the generator's header line: `make generate` keeps them so.
func TestCRDsAreTheGeneratedOnes(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	chartCRDs, _ := filepath.Glob(filepath.Join(chartDir(), "crds", "*.yaml"))
	if len(chartCRDs) != len(bases) {
		t.Errorf("the chart has %d CRDs, config/crd/bases %d: run `make generate`", len(chartCRDs), len(bases))
	}
	for _, b := range bases {
		want, _ := os.ReadFile(b)
		got, err := os.ReadFile(filepath.Join(chartDir(), "crds", filepath.Base(b)))
		if err != nil {
			t.Errorf("%v: run `make generate`", err)
			continue
		}
		_, body, _ := strings.Cut(string(got), "\n")
		if body != string(want) {
			t.Errorf("crds/%s differs from config/crd/bases: run `make generate`", filepath.Base(b))
		}
	}
}
