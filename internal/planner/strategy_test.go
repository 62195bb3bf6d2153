package planner

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

const (
	apiDir  = "../../api/v1alpha1"
	crdFile = "../../config/crd/bases/gateway.tailscale.com_tailscaleservices.yaml"
)

// TestEveryAPIStrategyMaps reads the API's Strategy constants from source
// (Go cannot list a type's constants at run time), checks that they are
// the CRD schema's enum, and that each maps to a distinct strategy of the
// proxies, together covering all of them.
func TestEveryAPIStrategyMaps(t *testing.T) {
	api := apiConstants(t, "Strategy")
	if len(api) == 0 {
		t.Fatalf("no Strategy constants found in %s", apiDir)
	}
	for _, path := range [][]string{
		{"spec", "loadBalancing", "strategy"},
		{"status", "loadBalancingStatus", "strategy"},
	} {
		if enum := crdEnum(t, path...); !slices.Equal(sorted(enum), sorted(api)) {
			t.Errorf("CRD enum of %v = %v, API constants = %v: update the kubebuilder marker and run make generate", path, enum, api)
		}
	}
	seen := map[proxyconfig.Strategy]string{}
	for _, v := range api {
		got, err := dataPlaneStrategy(gatewayv1alpha1.Strategy(v))
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if !got.Known() {
			t.Errorf("%s maps to %q, which the proxies do not know", v, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%s and %s both map to %q", v, other, got)
		}
		seen[got] = v
	}
	for _, s := range proxyconfig.Strategies {
		if _, ok := seen[s]; !ok {
			t.Errorf("no API strategy maps to the proxies' %q", s)
		}
	}
	if _, err := dataPlaneStrategy("random"); err == nil {
		t.Error("an unknown strategy maps without error")
	}
}

// apiConstants are the values of the API package's string constants of
// the named type.
func apiConstants(t *testing.T, typeName string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(apiDir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || !isIdent(vs.Type, typeName) {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// crdEnum is the enum of a property of the TailscaleServices schema, by
// property path below the root.
func crdEnum(t *testing.T, path ...string) []string {
	t.Helper()
	raw, err := os.ReadFile(crdFile)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema schemaNode `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s has %d versions, want 1", crdFile, len(crd.Spec.Versions))
	}
	node := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, p := range path {
		next, ok := node.Properties[p]
		if !ok {
			t.Fatalf("%s has no property %v", crdFile, path)
		}
		node = next
	}
	return node.Enum
}

type schemaNode struct {
	Properties map[string]schemaNode `json:"properties"`
	Enum       []string              `json:"enum"`
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
