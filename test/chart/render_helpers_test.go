// Package chart tests the Helm chart charts/tailscale-gateway with Helm's
// Go SDK: lint, rendering (golden files), the values schema, the RBAC it
// shares with config/rbac, Pod Security, and install and upgrade against a
// real kube-apiserver.
package chart

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	releaseName = "tsgw"
	namespace   = "tailscale-gateway"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func chartDir() string { return filepath.Join(repoRoot(), "charts", "tailscale-gateway") }

func loadChart(t testing.TB) *chartv2.Chart {
	t.Helper()
	c, err := loader.LoadDir(chartDir())
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	ch, ok := c.(*chartv2.Chart)
	if !ok {
		t.Fatalf("the chart loads as %T, not a v2 chart", c)
	}
	return ch
}

// valuesFile reads testdata/<name>; "" means the chart's defaults.
func valuesFile(t testing.TB, name string) map[string]any {
	t.Helper()
	if name == "" {
		return map[string]any{}
	}
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return vals
}

// render is `helm template`: an install without a cluster, schema checked.
func render(t testing.TB, vals map[string]any) (*releasev1.Release, error) {
	t.Helper()
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: common.DefaultCapabilities,
	}
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	// The Kubernetes version the tests' API server runs (hack/envtest-binaries.sh).
	kv, err := common.ParseKubeVersion("v1.37.2")
	if err != nil {
		return nil, err
	}
	install.KubeVersion = kv
	rel, err := install.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		return nil, errors.New("the release is not a v1 release")
	}
	return r, nil
}

func mustRender(t testing.TB, vals map[string]any) *releasev1.Release {
	t.Helper()
	rel, err := render(t, vals)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	return rel
}

// objects decodes a rendered manifest.
func objects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding the manifest: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// find returns the rendered object of that kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
