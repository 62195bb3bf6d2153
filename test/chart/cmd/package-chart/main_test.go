package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
)

// The same chart and commit time package to the same bytes, with the
// release's version as the chart's version and appVersion.
func TestPackageIsReproducibleAndVersioned(t *testing.T) {
	chart := filepath.Join("..", "..", "..", "..", "charts", "tailscale-gateway")
	var archives [][]byte
	for range 2 {
		path, err := Package(chart, t.TempDir(), "v1.4.0-rc.1", 1767225600)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != "tailscale-gateway-1.4.0-rc.1.tgz" {
			t.Errorf("archive named %s", filepath.Base(path))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, data)
		c, err := loader.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		meta := c.(*chartv2.Chart).Metadata
		if meta.Version != "1.4.0-rc.1" || meta.AppVersion != "v1.4.0-rc.1" {
			t.Errorf("version %q appVersion %q", meta.Version, meta.AppVersion)
		}
		var crds []string
		for _, f := range c.(*chartv2.Chart).Files {
			if strings.HasPrefix(f.Name, "crds/") {
				crds = append(crds, f.Name)
			}
		}
		if len(crds) != 3 {
			t.Errorf("the package has CRDs %v, want the three of config/crd/bases", crds)
		}
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("packaging twice gave different bytes")
	}
}
