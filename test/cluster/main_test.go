// Package cluster tests Tailscale Gateway on a real Kubernetes node (`make
// test-cluster`): the operator installed by its Helm chart and running as
// pods under its own ServiceAccount, the pools' proxies as StatefulSet
// pods the kubelet runs from the tsgw-proxy image, backends behind real
// ClusterIP Services and kube-proxy, CoreDNS; on the host the lab tailnet
// and the Tailscale API emulator at the node's bridge address, and a lab
// client node that sends the traffic (package clusterenv).
//
// `make test-cluster` brings the node up, imports the images, runs these
// tests with TSGW_CLUSTER_KUBECONFIG, TSGW_CLUSTER_NODE_IP and
// TSGW_CLUSTER_IMAGE_TAG set, and takes the node down. Without them the
// tests are skipped. They run one after another: they share the samples.
package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/test/cluster/clusterenv"
)

var (
	env        *clusterenv.Env
	kube       *kubernetes.Clientset
	labClient  *tsnet.Server
	dialer     *lab.Dialer
	imageTag   string
	setupErr   error
	skipReason string
	// labLog keeps the lab's messages, stamped, for failing tests.
	labLog stampedLog
)

// stampedLog collects log lines with the time they were written.
type stampedLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *stampedLog) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
}

// Since returns the lines written at or after t.
func (l *stampedLog) Since(t time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := t.Format("15:04:05.000")
	var out []string
	for _, line := range l.lines {
		if line[:12] >= stamp {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	kubeconfig, nodeIP := os.Getenv("TSGW_CLUSTER_KUBECONFIG"), os.Getenv("TSGW_CLUSTER_NODE_IP")
	imageTag = os.Getenv("TSGW_CLUSTER_IMAGE_TAG")
	if kubeconfig == "" || nodeIP == "" || imageTag == "" {
		skipReason = "needs a real node: run `make test-cluster` (as root), which sets TSGW_CLUSTER_KUBECONFIG, TSGW_CLUSTER_NODE_IP and TSGW_CLUSTER_IMAGE_TAG"
		return m.Run()
	}
	ctrl.SetLogger(logr.Discard())
	stop, err := start(kubeconfig, nodeIP)
	if err != nil {
		setupErr = err
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
	}
	code := m.Run()
	if stop != nil {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: stopping: %v\n", err)
			code = 1
		}
	}
	return code
}

func start(kubeconfig, nodeIP string) (func() error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	e, err := clusterenv.Start(ctx, clusterenv.Options{
		Repo: repoRoot(), Kubeconfig: kubeconfig, NodeIP: nodeIP, ImageTag: imageTag,
		SamplesDir: "samples", Logf: labLog.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the cluster environment: %w", err)
	}
	env = e
	if kube, err = kubernetes.NewForConfig(env.Config); err != nil {
		return env.Stop, err
	}
	if labClient, err = env.Lab.NewNode(ctx, lab.NodeOptions{Hostname: "cluster-client", Ephemeral: true}); err != nil {
		return env.Stop, fmt.Errorf("joining the lab client node: %w", err)
	}
	if dialer, err = env.Lab.Dialer(labClient); err != nil {
		return env.Stop, err
	}
	fmt.Fprintf(os.Stderr, "cluster: chart installed and lab ready in %s\n", time.Since(began).Round(time.Millisecond))
	return env.Stop, nil
}

// needEnv skips the test without a node, and fails it when the
// environment could not start.
func needEnv(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// waitUntil polls f until it returns nil, failing the test with f's last
// error when ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
