package envoygateway

import (
	"crypto/tls"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// stack is everything but the test's own objects: the API server, the
// extension in process, Envoy Gateway, and the client side of its xDS TLS.
type stack struct {
	c      client.Client
	cfg    *rest.Config // the API server's admin
	ext    *extensionServer
	eg     *envoyGateway
	xdsTLS *tls.Config
}

// startStack starts them all, with the namespaces given, and the
// GatewayClass, Envoy Gateway with failOpen false; all is stopped when the
// test ends.
func startStack(t *testing.T, namespaces ...string) *stack {
	return startStackFailOpen(t, false, namespaces...)
}

func startStackFailOpen(t *testing.T, failOpen bool, namespaces ...string) *stack {
	t.Helper()
	bin := needEnvoyGateway(t)
	c, cfg, kubeconfig := startAPIServer(t)
	createNamespaces(t.Context(), t, c, namespaces...)
	ext := startExtension(t, cfg)
	certgen(t, bin, kubeconfig)
	eg := startEnvoyGateway(t, bin, secretDir(t.Context(), t, c, "envoy-gateway"), writeConfig(t, ext.port(), failOpen), kubeconfig)
	return &stack{c: c, cfg: cfg, ext: ext, eg: eg, xdsTLS: xdsTLS(t, secretDir(t.Context(), t, c, "envoy"))}
}

// watch reads the xDS of the Gateway namespace/name as its Envoy would.
func (s *stack) watch(t *testing.T, namespace, name string) *adsClient {
	return watchXDS(t, fmt.Sprintf("127.0.0.1:%d", xdsPort), s.xdsTLS, namespace, name)
}

// snapshot is what xds last received; the test fails if Envoy Gateway
// exited or the stream ended.
func (s *stack) snapshot(t *testing.T, xds *adsClient) xdsSnapshot {
	t.Helper()
	snap, err := xds.snapshot()
	if exit := s.eg.exited(); exit != nil {
		t.Fatal(exit)
	}
	if err != nil {
		t.Fatalf("the xDS stream ended: %v", err)
	}
	return snap
}

// createTailscaleServices makes the TailscaleServices with those ports,
// with the status the operator writes once its Service <name>-vip is in
// place.
func (s *stack) createTailscaleServices(t *testing.T, ts *unstructured.Unstructured) {
	t.Helper()
	mustCreate(t.Context(), t, s.c, ts)
	if err := unstructured.SetNestedField(ts.Object, ts.GetName()+"-vip", "status", "clusterServiceName"); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Status().Update(t.Context(), ts); err != nil {
		t.Fatalf("writing the status of TailscaleServices %s: %v", ts.GetName(), err)
	}
}
