package envoygateway

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envoyGatewayConfig is the EnvoyGateway configuration the test runs Envoy
// Gateway with; envoy-extension/README.md shows the same extensionManager.
// The rest keeps Envoy Gateway to what a kube-apiserver alone can serve:
//   - no leader election: one instance, and no Lease to wait for;
//   - no proxy topology injector: a mutating webhook for the Envoy pods,
//     which need a webhook server and a kubelet;
//   - no Prometheus endpoint (port 19001 on 0.0.0.0): nothing reads it.
//
// failOpen is false by default, so that a refusal or an unreachable
// extension is seen in xDS (the previous snapshot stays) rather than
// hidden; TestEnvoyGatewayFailOpen runs with true, as README recommends.
const envoyGatewayConfig = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyGateway
gateway:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
logging:
  level:
    default: info
provider:
  type: Kubernetes
  kubernetes:
    leaderElection:
      disable: true
    proxyTopologyInjector:
      disabled: true
telemetry:
  metrics:
    prometheus:
      disable: true
extensionManager:
  backendResources:
  - group: gateway.tailscale.com
    version: v1alpha1
    kind: TailscaleServices
  hooks:
    xdsTranslator:
      post: [Cluster]
  service:
    ip:
      address: 127.0.0.1
      port: EXTENSION_PORT
  failOpen: FAIL_OPEN
`

// writeConfig writes the configuration with the extension's port.
func writeConfig(t *testing.T, extensionPort string, failOpen bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "envoy-gateway.yaml")
	if err := os.WriteFile(path, []byte(strings.NewReplacer("EXTENSION_PORT", extensionPort, "FAIL_OPEN", strconv.FormatBool(failOpen)).Replace(envoyGatewayConfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
