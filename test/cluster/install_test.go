package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/test/cluster/clusterenv"
)

// operatorName is the chart's full name for release clusterenv.Release.
const operatorName = clusterenv.Release + "-tailscale-gateway"

// waitServing waits until the samples' TailscaleServices is Ready and the
// lab client gets an answer through it.
func waitServing(t *testing.T, ctx context.Context) {
	t.Helper()
	waitUntil(t, ctx, "the samples' VIP service to serve", func() error {
		ts := &gatewayv1alpha1.TailscaleServices{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, ts); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(ts.Status.Conditions, gatewayv1alpha1.ConditionReady) {
			return fmt.Errorf("web not Ready: %+v", ts.Status.Conditions)
		}
		_, err := get(ctx, vipClient(), sampleURL())
		return err
	})
}

// The chart's operator runs as two pods under the chart's ServiceAccount,
// restricted, one of them the leader: the Lease names it, which it could
// only write (with its "became leader" Event) under its own RBAC.
func testOperatorRunsUnderItsOwnServiceAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var pods []corev1.Pod
	waitUntil(t, ctx, "two ready operator pods", func() error {
		list, err := kube.CoreV1().Pods(clusterenv.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: "app.kubernetes.io/instance=" + clusterenv.Release,
		})
		if err != nil {
			return err
		}
		pods = nil
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				pods = append(pods, p)
			}
		}
		if len(pods) != 2 {
			return fmt.Errorf("%d of %d pods ready", len(pods), len(list.Items))
		}
		return nil
	})
	for _, p := range pods {
		if p.Spec.ServiceAccountName != operatorName {
			t.Errorf("pod %s runs as ServiceAccount %q, want %q", p.Name, p.Spec.ServiceAccountName, operatorName)
		}
		checkRestricted(t, &p, "operator")
	}
	waitUntil(t, ctx, "a leader among the operator pods", func() error {
		lease, err := kube.CoordinationV1().Leases(clusterenv.Namespace).Get(ctx, "tailscale-gateway-operator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		holder := ""
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		for _, p := range pods {
			if strings.HasPrefix(holder, p.Name+"_") {
				return nil
			}
		}
		return fmt.Errorf("the Lease's holder %q is none of the operator pods", holder)
	})
}

// The pools become StatefulSets whose pods run the tsgw-proxy image as uid
// 65532 with no capabilities and a read-only root: checked on the pod
// spec and on the running processes themselves (this test runs on the
// node). Their machines joined the lab tailnet.
func testPoolPodsRunRestrictedAndJoin(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	waitServing(t, ctx)
	waitUntil(t, ctx, "every machine of both pools ready", func() error {
		for _, name := range []string{"web-east", "web-west"} {
			ep := &gatewayv1alpha1.TailscaleEndpoints{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, ep); err != nil {
				return err
			}
			if ep.Status.ReadyReplicas != 2 {
				return fmt.Errorf("pool %s: %d ready", name, ep.Status.ReadyReplicas)
			}
		}
		return nil
	})
	for _, name := range []string{"web-east", "web-west"} {
		sts, err := kube.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pool %s: %v", name, err)
		}
		image := sts.Spec.Template.Spec.Containers[0].Image
		if !strings.HasPrefix(image, "ghcr.io/tailscale-gateway/tsgw-proxy:"+imageTag) {
			t.Errorf("pool %s runs image %s", name, image)
		}
		ep := &gatewayv1alpha1.TailscaleEndpoints{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, ep); err != nil {
			t.Fatal(err)
		}
		if ep.Status.ReadyReplicas != 2 || len(ep.Status.Machines) != 2 {
			t.Errorf("pool %s: %d ready replicas, machines %+v", name, ep.Status.ReadyReplicas, ep.Status.Machines)
		}
		for i := range 2 {
			p, err := kube.CoreV1().Pods("default").Get(ctx, fmt.Sprintf("%s-%d", name, i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkRestricted(t, p, "proxy")
			checkProcess(t, p)
		}
	}
	devices := map[string]bool{}
	for _, d := range env.Lab.Devices() {
		devices[d.Hostname] = true
	}
	for _, name := range []string{"web-east", "web-west"} {
		ep := &gatewayv1alpha1.TailscaleEndpoints{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, ep); err != nil {
			t.Fatal(err)
		}
		for _, m := range ep.Status.Machines {
			if !machineName.MatchString(m.Hostname) || !strings.HasPrefix(m.Hostname, name+"-") {
				t.Errorf("pool %s: machine %s is named %q", name, m.Name, m.Hostname)
			}
			if !devices[m.Hostname] || len(m.TailnetIPs) == 0 {
				t.Errorf("pool %s: machine %s (%s, addresses %v) is no device of the lab tailnet", name, m.Name, m.Hostname, m.TailnetIPs)
			}
		}
	}
}

// machineName is pool.MachineHostname's shape for namespace default.
var machineName = regexp.MustCompile(`^[a-z0-9-]+-[0-9]+-default-[0-9a-f]{6}$`)

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// checkRestricted checks the container's effective security settings.
func checkRestricted(t *testing.T, p *corev1.Pod, container string) {
	t.Helper()
	var c *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == container {
			c = &p.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Errorf("pod %s has no container %s", p.Name, container)
		return
	}
	uid := p.Spec.SecurityContext.RunAsUser
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		uid = c.SecurityContext.RunAsUser
	}
	sc := c.SecurityContext
	switch {
	case uid == nil || *uid != 65532:
		t.Errorf("pod %s: runs as uid %v, want 65532", p.Name, uid)
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("pod %s: root filesystem not read-only", p.Name)
	case sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Errorf("pod %s: capabilities %+v, want all dropped", p.Name, sc.Capabilities)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("pod %s: privilege escalation allowed", p.Name)
	}
}

// checkProcess finds the pod's tsgw-proxy process on this node (by its
// POD_NAME) and checks what the kernel says of it: uid 65532, no
// effective, permitted or bounding capabilities, and / mounted read-only.
func checkProcess(t *testing.T, p *corev1.Pod) {
	t.Helper()
	pid, err := findProcess("tsgw-proxy", "POD_NAME="+p.Name)
	if err != nil {
		t.Errorf("pod %s: %v", p.Name, err)
		return
	}
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		t.Error(err)
		return
	}
	fields := map[string]string{}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	if uids := strings.Fields(fields["Uid"]); len(uids) == 0 || uids[0] != "65532" || uids[1] != "65532" {
		t.Errorf("pod %s: process %s runs with uids %q, want 65532", p.Name, pid, fields["Uid"])
	}
	for _, capSet := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if v, err := strconv.ParseUint(fields[capSet], 16, 64); err != nil || v != 0 {
			t.Errorf("pod %s: process %s has %s %s, want none", p.Name, pid, capSet, fields[capSet])
		}
	}
	mounts, err := os.ReadFile(filepath.Join("/proc", pid, "mounts"))
	if err != nil {
		t.Error(err)
		return
	}
	for line := range strings.Lines(string(mounts)) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == "/" && !strings.HasPrefix(f[3], "ro") {
			t.Errorf("pod %s: / is mounted %s, want read-only", p.Name, f[3])
		}
	}
}

// findProcess returns the PID of the process whose command line contains
// name and whose environment has env.
func findProcess(name, env string) (string, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return "", err
	}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), name) {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(environ), "\x00") {
			if kv == env {
				return d.Name(), nil
			}
		}
	}
	return "", fmt.Errorf("no process %s with %s on this node", name, env)
}
