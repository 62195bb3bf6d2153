package envoygateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Ports Envoy Gateway v1.9.1 listens on whatever its config says: xDS
// (internal/xds/bootstrap DefaultXdsServerPort) and the Wasm module cache
// (18002) on all addresses, its controller-runtime manager's health probes
// and metrics (likewise), and its admin server (127.0.0.1). Tests that run it therefore run one at a time on a
// machine; this one checks they are free first, to fail with a clear
// message rather than fight another instance.
const xdsPort = 18000

var fixedPorts = []int{xdsPort, 18002, 8080, 8081, 19000}

// needEnvoyGateway returns the envoy-gateway binary, or skips the test
// where it cannot run: no binary (hack/envoy-gateway-binary.sh builds it;
// `make test` sets ENVOY_GATEWAY_BINARY), not root, or no unshare. In CI
// (CI=true) these fail instead: there the test must run.
func needEnvoyGateway(t *testing.T) string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		skip("KUBEBUILDER_ASSETS is not set (the directory of kube-apiserver, etcd and kubectl); `make test` sets it")
	}
	bin := os.Getenv("ENVOY_GATEWAY_BINARY")
	if bin == "" {
		skip("ENVOY_GATEWAY_BINARY is not set: `make test` sets it to the binary hack/envoy-gateway-binary.sh builds (or run that script and set it)")
	}
	if _, err := os.Stat(bin); err != nil {
		skip("ENVOY_GATEWAY_BINARY: %v; hack/envoy-gateway-binary.sh builds it", err)
	}
	// Envoy Gateway reads its xDS server certificate from /certs only
	// (internal/xds/runner/runner.go); the test mounts it there in a mount
	// namespace of its own, which needs root.
	if os.Geteuid() != 0 {
		skip("running Envoy Gateway needs root: its xDS certificates are mounted on /certs in a private mount namespace (unshare)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		skip("unshare (util-linux) is not installed: it gives Envoy Gateway a private mount namespace with /certs")
	}
	for _, port := range fixedPorts {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d, which Envoy Gateway always listens on, is taken (another Envoy Gateway test running?): %v", port, err)
		}
		_ = l.Close()
	}
	return bin
}

// certgen runs `envoy-gateway certgen` as Envoy Gateway's chart does
// (its certgen Job): it makes the control plane's Secrets in Envoy
// Gateway's namespace, one throw-away CA signing envoy-gateway (the xDS
// server's certificate, for the Service name envoy-gateway), envoy (the
// proxies' client certificate), envoy-rate-limit, and envoy-oidc-hmac.
// Without them Envoy Gateway translates anyway but logs an error on
// every translation. The flag leaves alone the topology injector's
// webhook, which the config disables.
func certgen(t *testing.T, bin, kubeconfig string) {
	t.Helper()
	cmd := exec.Command(bin, "certgen", "--disable-topology-injector")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "ENVOY_GATEWAY_NAMESPACE="+controllerNamespace)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("envoy-gateway certgen: %v\n%s", err, out)
	}
}

// secretDir writes the data of a Secret of Envoy Gateway's namespace into
// a directory, as the kubelet mounts it (the chart mounts envoy-gateway's
// on /certs).
func secretDir(ctx context.Context, t *testing.T, c client.Client, name string) string {
	t.Helper()
	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: controllerNamespace, Name: name}, &secret); err != nil {
		t.Fatalf("Secret %s/%s, which certgen makes: %v", controllerNamespace, name, err)
	}
	dir := t.TempDir()
	for key, value := range secret.Data {
		if err := os.WriteFile(filepath.Join(dir, key), value, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// privateRoot gives the command a root of its own with /certs on it,
// without writing to the machine's /: in a private mount namespace, a
// tmpfs on $1 gets every directory of / bind-mounted into it with its
// submounts (symlinks such as /bin -> usr/bin copied), $2 read-only on
// $1/certs, and the command runs chrooted there. Every path but /certs is
// the machine's own. The top-level directory holding $1 goes first, while
// the tmpfs is still empty, so that its copy does not repeat the others.
// The mounts vanish with the namespace when the command exits.
const privateRoot = `set -eu
root=$1 certs=$2; shift 2
mount -t tmpfs -o mode=0755 tsgw-eg-root "$root"
holder=/${root#/}; holder=${holder%%/${holder#/*/}}
for entry in "$holder" /*; do
  name=${entry#/}
  if [ -e "$root/$name" ] || [ -L "$root/$name" ]; then
    continue
  elif [ -L "$entry" ]; then
    cp -P "$entry" "$root/$name"
  elif [ -d "$entry" ]; then
    mkdir "$root/$name"
    mount --rbind "$entry" "$root/$name"
  fi
done
mkdir "$root/certs"
mount --bind "$certs" "$root/certs"
mount -o remount,bind,ro "$root/certs"
exec chroot "$root" "$@"
`

// envoyGateway is a running Envoy Gateway.
type envoyGateway struct {
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	exit chan error
}

// startEnvoyGateway runs `envoy-gateway server` with the config and
// kubeconfig given, in a private mount namespace whose /certs is certs,
// and stops it when the test ends.
func startEnvoyGateway(t *testing.T, bin, certs, configPath, kubeconfig string) *envoyGateway {
	t.Helper()
	root := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "envoy-gateway.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// unshare execs sh, which execs chroot, which execs Envoy Gateway:
	// one process, whose exit ends the namespace and its mounts.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", privateRoot, "sh", root, certs,
		bin, "server", "--config-path", configPath)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "ENVOY_GATEWAY_NAMESPACE="+controllerNamespace)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting envoy-gateway: %v", err)
	}
	eg := &envoyGateway{cmd: cmd, log: logPath, exit: make(chan error, 1)}
	go func() { eg.exit <- cmd.Wait() }()
	t.Cleanup(func() {
		eg.stop(t)
		if t.Failed() {
			t.Logf("Envoy Gateway's log (%s), last lines:\n%s", logPath, tail(logPath, 80))
		}
	})
	return eg
}

// stop sends SIGTERM, and SIGKILL to its process group if it has not
// exited 20 seconds later.
func (eg *envoyGateway) stop(t *testing.T) {
	select {
	case <-eg.exit:
		return // already gone; the channel had its one value
	default:
	}
	_ = eg.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-eg.exit:
	case <-time.After(20 * time.Second):
		t.Errorf("envoy-gateway did not exit 20s after SIGTERM; killing it")
		_ = syscall.Kill(-eg.cmd.Process.Pid, syscall.SIGKILL)
		<-eg.exit
	}
}

// exited reports whether Envoy Gateway exited, and how.
func (eg *envoyGateway) exited() error {
	select {
	case err := <-eg.exit:
		eg.exit <- err // for stop
		if err == nil {
			err = errors.New("exit status 0")
		}
		return fmt.Errorf("envoy-gateway exited: %w; its log:\n%s", err, tail(eg.log, 40))
	default:
		return nil
	}
}

// logContains reports whether Envoy Gateway's log has s so far.
func (eg *envoyGateway) logContains(s string) bool {
	b, _ := os.ReadFile(eg.log)
	return bytes.Contains(b, []byte(s))
}

// count is how many times s is in Envoy Gateway's log so far.
func (eg *envoyGateway) count(s string) int {
	b, _ := os.ReadFile(eg.log)
	return bytes.Count(b, []byte(s))
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
