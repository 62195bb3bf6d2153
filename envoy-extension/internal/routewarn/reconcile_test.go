package routewarn

import (
	"io"
	"log/slog"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestReconcileWarnsOncePerGeneration: reconciling again, as a resync or a
// restarted watch does, warns no more until the generation changes.
func TestReconcileWarnsOncePerGeneration(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := gwapiv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	route := &gwapiv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "tcp", Generation: 1},
		Spec: gwapiv1.TCPRouteSpec{Rules: []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{{BackendObjectReference: gwapiv1.BackendObjectReference{
			Group: ptr.To(gwapiv1.Group(group)), Kind: ptr.To(gwapiv1.Kind(kind)), Name: "web",
		}}}}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(route).Build()
	recorder := events.NewFakeRecorder(10)
	var tcp routeKind
	for _, k := range routeKinds {
		if k.kind == "TCPRoute" {
			tcp = k
		}
	}
	r := &reconciler{kind: tcp, client: c, recorder: recorder, log: slog.New(slog.NewTextHandler(io.Discard, nil)), warned: map[key]int64{}}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "tcp"}}
	reconcileTimes := func(n int) {
		t.Helper()
		for range n {
			if _, err := r.Reconcile(t.Context(), req); err != nil {
				t.Fatal(err)
			}
		}
	}
	reconcileTimes(3)
	if n := len(recorder.Events); n != 1 {
		t.Fatalf("%d Events after 3 reconciles of one generation, want 1", n)
	}
	<-recorder.Events

	// The fake client leaves generations alone: set it as the API server would.
	if err := c.Get(t.Context(), req.NamespacedName, route); err != nil {
		t.Fatal(err)
	}
	route.Generation = 2
	if err := c.Update(t.Context(), route); err != nil {
		t.Fatal(err)
	}
	reconcileTimes(2)
	if n := len(recorder.Events); n != 1 {
		t.Fatalf("%d Events after 2 reconciles of generation 2, want 1", n)
	}
}
