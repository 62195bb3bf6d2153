package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// readObjects reads every YAML document of a file in testdata/spec.
func readObjects(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "spec", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// specExamples are the specification's objects our CRDs serve (the HTTPRoute
// belongs to the Gateway API).
func specExamples(t *testing.T) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	for _, file := range []string{"01-core-fields.yaml", "02-complete-example.yaml", "04-snippets.yaml"} {
		for _, o := range readObjects(t, file) {
			if o.GetNamespace() == "" {
				o.SetNamespace("default")
			}
			objs = append(objs, o)
		}
	}
	if len(objs) < 9 {
		t.Fatalf("read only %d example objects", len(objs))
	}
	return objs
}

// normalized round-trips a value through JSON so that numbers compare alike.
func normalized(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeStrictly proves that the Go types know every field of an object.
func decodeStrictly(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Errorf("the Go types do not hold every field: %v", err)
	}
}

func typedFor(kind string) any {
	switch kind {
	case "TailscaleServices":
		return &gatewayv1alpha1.TailscaleServices{}
	case "TailscaleEndpoints":
		return &gatewayv1alpha1.TailscaleEndpoints{}
	}
	return &gatewayv1alpha1.TailscaleTailnet{}
}

func TestSpecExamplesAreAcceptedAndReadBackUnchanged(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "production")
	for _, want := range specExamples(t) {
		t.Run(want.GetKind()+"/"+want.GetName(), func(t *testing.T) {
			ctx := t.Context()
			if err := env.Client.Create(ctx, want.DeepCopy(), client.FieldValidation("Strict")); err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(want.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
				t.Fatal(err)
			}
			if w, g := normalized(t, want.Object["spec"]), normalized(t, got.Object["spec"]); !reflect.DeepEqual(w, g) {
				t.Errorf("spec changed on the way in:\nwant %v\ngot  %v", w, g)
			}
			if !reflect.DeepEqual(want.GetAnnotations(), got.GetAnnotations()) {
				t.Errorf("annotations changed: want %v got %v", want.GetAnnotations(), got.GetAnnotations())
			}
			decodeStrictly(t, got.Object, typedFor(want.GetKind()))
		})
	}
}

func TestStatusExampleIsStoredWithNothingPruned(t *testing.T) {
	env := kubetest.Start(t)
	ctx := t.Context()
	obj := specExamples(t)[0]
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	status := readObjects(t, "05-status.yaml")[0].Object["status"]
	obj.Object["status"] = status
	if err := env.Client.Status().Update(ctx, obj, client.FieldValidation("Strict")); err != nil {
		t.Fatalf("status refused: %v", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(obj.GroupVersionKind())
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatal(err)
	}
	if w, g := normalized(t, status), normalized(t, got.Object["status"]); !reflect.DeepEqual(w, g) {
		t.Errorf("status changed on the way in:\nwant %v\ngot  %v", w, g)
	}
	decodeStrictly(t, got.Object, &gatewayv1alpha1.TailscaleServices{})
}

// TestKubectlStrictValidationAcceptsTheExamples is what a user does: kubectl
// create --validate=strict on the specification's files.
func TestKubectlStrictValidationAcceptsTheExamples(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "production")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	for _, file := range []string{"01-core-fields.yaml", "02-complete-example.yaml", "04-snippets.yaml"} {
		out, err := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", kubeconfig, "create",
			"--validate=strict", "-f", filepath.Join("testdata", "spec", file)).CombinedOutput()
		if err != nil {
			t.Errorf("kubectl create --validate=strict -f %s: %v\n%s", file, err, out)
		}
		if !strings.Contains(string(out), "created") {
			t.Errorf("kubectl created nothing from %s: %s", file, out)
		}
	}
}
