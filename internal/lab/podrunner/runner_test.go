package podrunner_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/podrunner"
)

const (
	ns = "lab"
	sa = "web-proxy"
)

// TestRunner drives one runner through a StatefulSet's life: scale
// 0→2→3→1, identity and RBAC of a replica, a crash, a process that
// ignores SIGTERM, and Stop.
func TestRunner(t *testing.T) {
	env := kubetest.Start(t)
	c := env.Client
	env.Namespace(t, ns)
	createRBAC(t, c)
	web := statefulSet("web", false)
	mustCreate(t, c, web)

	r, err := podrunner.Start(t.Context(), podrunner.Options{
		Config: env.Config, Binary: os.Args[0], StateDir: t.TempDir(),
		Namespace: ns, Selector: "app=fake",
		GracePeriod: 2 * time.Second, RestartBackoff: 100 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	defer func() {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()

	expectPods(t, r, c, "web")
	for _, n := range []int32{2, 3, 1} {
		scaleTo(t, c, web, n)
		expectPods(t, r, c, "web", podNames("web", n)...)
		maps.Copy(seen, invert(r.Running()))
	}
	checkIdentity(t, r, "web-0")
	checkCrashRestart(t, r, c, "lab/web-0")
	checkPodDeleted(t, r, c, "lab/web-0")
	checkTemplateChange(t, r, c, web)
	maps.Copy(seen, invert(r.Running()))
	checkKillAfterGrace(t, r, c)

	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for pid := range seen {
		if alive(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	waitFor(t, "the Pods to be deleted", func() error { return podsAre(t, c, nil) })
}

func invert(running map[string]int) map[int]bool {
	out := map[int]bool{}
	for _, pid := range running {
		out[pid] = true
	}
	return out
}

func checkIdentity(t *testing.T, r *podrunner.Runner, pod string) {
	t.Helper()
	id := identityOf(t, r, pod)
	if want := "system:serviceaccount:" + ns + ":" + sa; id.User != want {
		t.Errorf("user %q, want %q", id.User, want)
	}
	if !slices.Contains(id.Groups, "system:serviceaccounts:"+ns) {
		t.Errorf("groups %v lack the namespace's ServiceAccount group", id.Groups)
	}
	if id.SecretStatus != http.StatusForbidden {
		t.Errorf("reading a Secret: status %d, want 403 (RBAC must apply)", id.SecretStatus)
	}
	if id.ConfigMapStatus != http.StatusOK {
		t.Errorf("reading the allowed ConfigMap: status %d, want 200", id.ConfigMapStatus)
	}
	wantEnv := map[string]string{"POD_NAME": pod, "POD_NAMESPACE": ns, "TSGW_POOL": "web"}
	for k, v := range wantEnv {
		if id.Env[k] != v {
			t.Errorf("env %s=%q, want %q", k, id.Env[k], v)
		}
	}
	if id.Env["KUBECONFIG"] == "" || !slices.Contains(id.Args, "--pod") || !slices.Contains(id.Args, "--kubeconfig") {
		t.Errorf("args %v, KUBECONFIG %q: want the container's args, --kubeconfig and KUBECONFIG", id.Args, id.Env["KUBECONFIG"])
	}
}

func identityOf(t *testing.T, r *podrunner.Runner, pod string) identity {
	t.Helper()
	id, err := tryIdentityOf(r, pod)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func tryIdentityOf(r *podrunner.Runner, pod string) (identity, error) {
	var id identity
	for _, rep := range r.Replicas() {
		if rep.Pod != pod {
			continue
		}
		res, err := http.Get("http://" + rep.AdminAddr + "/identity")
		if err != nil {
			return id, err
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&id); err != nil {
			return id, fmt.Errorf("%s /identity: %s: %w", pod, res.Status, err)
		}
		return id, nil
	}
	return id, fmt.Errorf("no replica %s", pod)
}

// checkCrashRestart kills a replica's process as a crash would and
// expects a new process and a restart count on its Pod.
func checkCrashRestart(t *testing.T, r *podrunner.Runner, c client.Client, key string) {
	t.Helper()
	old := r.Running()[key]
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restarted, ready process", func() error {
		if pid := r.Running()[key]; pid == 0 || pid == old {
			return fmt.Errorf("pid %d (crashed: %d)", pid, old)
		}
		pod := &corev1.Pod{}
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-0"}, pod); err != nil {
			return err
		}
		if cs := pod.Status.ContainerStatuses; len(cs) != 1 || cs[0].RestartCount != 1 || !cs[0].Ready {
			return fmt.Errorf("container statuses %+v", cs)
		}
		return nil
	})
}

// checkPodDeleted deletes a Pod gracefully, as kubectl or the namespace
// controller do: the runner, the lab's kubelet, stops its process and
// confirms the deletion (nothing else would), then starts the replica
// again under a new Pod, as a StatefulSet controller would.
func checkPodDeleted(t *testing.T, r *podrunner.Runner, c client.Client, key string) {
	t.Helper()
	old := r.Running()[key]
	pod := &corev1.Pod{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-0"}, pod); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), pod, client.GracePeriodSeconds(30)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new process under a new Pod", func() error {
		if alive(old) {
			return fmt.Errorf("process %d of the deleted Pod still runs", old)
		}
		if pid := r.Running()[key]; pid == 0 || pid == old {
			return fmt.Errorf("pid %d (deleted: %d)", pid, old)
		}
		now := &corev1.Pod{}
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web-0"}, now); err != nil {
			return err
		}
		if now.UID == pod.UID || now.DeletionTimestamp != nil {
			return fmt.Errorf("the Pod is still the deleted one (deletion %v)", now.DeletionTimestamp)
		}
		return nil
	})
}

// checkTemplateChange changes the pod template's environment: the
// replica restarts with the new one, as a rolling update would give it.
func checkTemplateChange(t *testing.T, r *podrunner.Runner, c client.Client, sts *appsv1.StatefulSet) {
	t.Helper()
	patch := client.RawPatch("application/json-patch+json",
		[]byte(`[{"op": "replace", "path": "/spec/template/spec/containers/0/env/3/value", "value": "renamed"}]`))
	if err := c.Patch(t.Context(), sts, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to restart with the new environment", func() error {
		if id, err := tryIdentityOf(r, "web-0"); err != nil || id.Env["TSGW_POOL"] != "renamed" {
			return fmt.Errorf("identity %+v, %v", id, err)
		}
		return nil
	})
	expectPods(t, r, c, "web", "web-0")
}

// checkKillAfterGrace scales down a replica that ignores SIGTERM: it is
// killed after the grace period.
func checkKillAfterGrace(t *testing.T, r *podrunner.Runner, c client.Client) {
	t.Helper()
	stubborn := statefulSet("stubborn", true)
	mustCreate(t, c, stubborn)
	scaleTo(t, c, stubborn, 1)
	waitFor(t, "the stubborn replica", func() error { return readyReplicas(t, c, "stubborn", 1) })
	pid := r.Running()["lab/stubborn-0"]
	scaleTo(t, c, stubborn, 0)
	waitFor(t, "the stubborn replica to be killed", func() error {
		if alive(pid) || r.Running()["lab/stubborn-0"] != 0 {
			return errors.New("still running")
		}
		return nil
	})
}

// expectPods waits until exactly the named pods of sts run, as processes
// and as ready Pod objects, and the StatefulSet's status counts them.
func expectPods(t *testing.T, r *podrunner.Runner, c client.Client, sts string, names ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("pods %v", names), func() error {
		var running []string
		for key := range r.Running() {
			running = append(running, key)
		}
		slices.Sort(running)
		if want := prefixed(names); !slices.Equal(running, want) {
			return fmt.Errorf("running %v, want %v", running, want)
		}
		if err := podsAre(t, c, names); err != nil {
			return err
		}
		return readyReplicas(t, c, sts, len(names))
	})
}

func podsAre(t *testing.T, c client.Client, names []string) error {
	var pods corev1.PodList
	if err := c.List(t.Context(), &pods, client.InNamespace(ns), client.MatchingLabels{"app": "fake"}); err != nil {
		return err
	}
	var got []string
	for _, p := range pods.Items {
		if !isReady(&p) {
			return fmt.Errorf("pod %s not ready: %+v", p.Name, p.Status.Conditions)
		}
		got = append(got, p.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		return fmt.Errorf("pods %v, want %v", got, names)
	}
	return nil
}

func readyReplicas(t *testing.T, c client.Client, name string, n int) error {
	sts := &appsv1.StatefulSet{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, sts); err != nil {
		return err
	}
	if s := sts.Status; int(s.Replicas) != n || int(s.ReadyReplicas) != n {
		return fmt.Errorf("StatefulSet %s status replicas=%d ready=%d, want %d", name, s.Replicas, s.ReadyReplicas, n)
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func podNames(sts string, n int32) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s-%d", sts, i))
	}
	return out
}

func prefixed(names []string) []string {
	out := []string{}
	for _, n := range names {
		out = append(out, ns+"/"+n)
	}
	return out
}

func scaleTo(t *testing.T, c client.Client, sts *appsv1.StatefulSet, n int32) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n))
	if err := c.Patch(t.Context(), sts, patch); err != nil {
		t.Fatal(err)
	}
}
