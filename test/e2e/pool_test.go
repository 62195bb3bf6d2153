package e2e

import (
	"context"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The pool's own health check of its backend (planner.poolHealthCheck):
// a TCP connect every 5s, unhealthy after 2 consecutive failures, the
// intervals jittered by ±10% (the proxy's default HealthJitter).
const (
	poolCheckInterval    = 5 * time.Second
	poolCheckUnhealthy   = 2
	poolCheckJitterShare = 0.1
)

// TestPool: a pool (TailscaleEndpoints) on its own, no TailscaleServices.
// Two machines forward port 80 to two loopback backends, round-robin.
//
//   - The client reaches each machine at its tailnet IP and at its MagicDNS
//     name and, over 10 requests to each, is answered by both backends;
//     status lists both machines with tailnet IPs and FQDNs, readyReplicas 2.
//   - Scaled to 3, a third machine is listed and answers (within
//     convergeTimeout). Scaled to 1, status lists one machine; once the
//     removed machines' pods have stopped, the endpoints controller deletes
//     their devices (the emulator, which shows the lab's devices, lists one
//     device named after the pool's pods), revokes their auth keys (the
//     emulator shows them revoked, the remaining one live), and deletes
//     their Secrets and the PodDisruptionBudget (pools of one have none);
//     within 60s.
//   - Backend b is stopped, with no traffic (which would have it ejected
//     sooner, by passive detection): the machine's own health check (TCP
//     every 5s, unhealthy after 2, ±10% jitter) marks it unhealthy in the
//     machine's report within 2 × 5s × 1.1 + 4s slack (the report is
//     written every second; the test polls the API) = 15s; then 40
//     requests are all answered by a.
//   - No request of the test may fail, and no connect may stall
//     (checkLoad, over all of the test's requests).
//   - Deleting the pool: within 60s the pool is gone and the emulator lists
//     no device of its pods and shows every auth key minted for them
//     revoked. The operator leaves the pool's Kubernetes objects to the
//     garbage collector (the lab runs kube-controller-manager's): each
//     carries a controller owner reference to the pool, and within the
//     same 60s the StatefulSet, the state and auth key Secrets, the
//     ConfigMap, the ServiceAccount, Role, RoleBinding and headless Service
//     are gone, the proxies have stopped, and neither the devices nor the
//     objects come back.
func TestPool(t *testing.T) {
	s := newScenario(t, "e2e-pool")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	name := s.poolAt("p", nil, 2, a.addr, b.addr)
	var served []load // every burst of requests, for checkLoad

	began := time.Now()
	converge, cancelConverge := context.WithTimeout(ctx, convergeTimeout)
	ep := s.waitPool(converge, name, 2)
	cancelConverge()
	t.Logf("pool of 2 ready in %s: %s", time.Since(began).Round(time.Millisecond), machinesString(ep))
	for _, m := range ep.Status.Machines {
		served = append(served, s.checkMachineServes(ctx, m, "a", "b")...)
	}
	keys := s.authKeys(ctx, name, 2)

	// Scale to 3.
	s.scalePool(ctx, name, 3)
	began = time.Now()
	converge, cancelConverge = context.WithTimeout(ctx, convergeTimeout)
	ep = s.waitPool(converge, name, 3)
	cancelConverge()
	t.Logf("pool of 3 ready %s after the scale-up: %s", time.Since(began).Round(time.Millisecond), machinesString(ep))
	third := ep.Status.Machines[2]
	if third.Name != pool.PodName(name, 2) {
		t.Fatalf("third machine is %s, want %s", third.Name, pool.PodName(name, 2))
	}
	served = append(served, s.checkMachineServes(ctx, third, "a", "b")...)
	keys = s.authKeys(ctx, name, 3)
	waitUntil(t, ctx, "the emulator to list the 3 machines' devices", func() error {
		return wantDevices(s.ns, name, 3)
	}, true)

	// Scale to 1.
	s.scalePool(ctx, name, 1)
	began = time.Now()
	within, cancelWithin := context.WithTimeout(ctx, time.Minute)
	waitUntil(t, within, "the pool to shrink to 1 machine in status, in the emulator and in its Secrets", func() error {
		ep, err := s.getPool(within, name)
		if err != nil {
			return err
		}
		if len(ep.Status.Machines) != 1 || ep.Status.ReadyReplicas != 1 || ep.Status.Machines[0].Name != pool.PodName(name, 0) {
			return fmt.Errorf("status: readyReplicas %d, machines %s", ep.Status.ReadyReplicas, machinesString(ep))
		}
		if err := wantDevices(s.ns, name, 1); err != nil {
			return err
		}
		for pod, k := range keys {
			info, ok := env.Emulator.AuthKey(k)
			if !ok {
				return fmt.Errorf("the emulator does not know %s's auth key", pod)
			}
			if want := pod != pool.PodName(name, 0); info.Revoked != want {
				return fmt.Errorf("%s's auth key %s: revoked %t, want %t", pod, info.ID, info.Revoked, want)
			}
		}
		for _, ordinal := range []int{1, 2} {
			pod := pool.PodName(name, ordinal)
			for _, sec := range []string{pool.AuthKeySecretName(pod), pool.StateSecretName(pod)} {
				if err := env.Client.Get(within, ctrlclient.ObjectKey{Namespace: s.ns, Name: sec}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("Secret %s of the removed machine: %v", sec, err)
				}
			}
		}
		pdb := &policyv1.PodDisruptionBudget{}
		if err := env.Client.Get(within, ctrlclient.ObjectKey{Namespace: s.ns, Name: pool.PodDisruptionBudgetName(name)}, pdb); !apierrors.IsNotFound(err) {
			return fmt.Errorf("PodDisruptionBudget of a pool of one: %v", err)
		}
		return nil
	}, true)
	cancelWithin()
	t.Logf("pool shrunk to 1 machine (status, devices, keys, Secrets) %s after the scale-down", time.Since(began).Round(time.Millisecond))
	ep, err := s.getPool(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	only := ep.Status.Machines[0]
	served = append(served, s.checkMachineServes(ctx, only, "a", "b")...)

	// Backend b goes down. No traffic until the machine's own check has
	// found it (traffic would eject it sooner, by passive detection).
	b.Stop()
	stopped := time.Now()
	detectWithin := time.Duration(float64(poolCheckUnhealthy*poolCheckInterval)*(1+poolCheckJitterShare)) + 4*time.Second
	var seen pool.BackendReport
	waitUntil(t, ctx, "the machine to report b unhealthy", func() error {
		rep, err := s.reports(ctx)
		if err != nil {
			return err
		}
		for _, bk := range rep[only.Name].Services[planner.PoolServiceName(80)].Backends {
			if bk.Address == b.addr && !bk.Healthy {
				seen = bk
				return nil
			}
		}
		return fmt.Errorf("report of %s: %+v", only.Name, rep[only.Name].Services[planner.PoolServiceName(80)].Backends)
	}, true)
	detected := time.Since(stopped)
	t.Logf("b reported unhealthy %s after it stopped (tolerance %s): %+v", detected.Round(time.Millisecond), detectWithin, seen)
	if detected > detectWithin {
		t.Errorf("b reported unhealthy after %s, want at most %s", detected.Round(time.Millisecond), detectWithin)
	}
	const n = 40
	l := send(ctx, machineURL(only.TailnetIPs), n, 2)
	t.Logf("%d requests to %s with b down: %s", n, only.Name, l)
	served = append(served, l)
	if l.counts["b"] > 0 || l.counts["a"] == 0 {
		t.Errorf("with b down: %s; want every answer from a", l)
	}
	if rep, err := s.reports(ctx); err == nil {
		for _, bk := range rep[only.Name].Services[planner.PoolServiceName(80)].Backends {
			if bk.Address == b.addr && bk.Failed > seen.Failed {
				t.Logf("%s's dials to b failed %d times during the requests (retried on a)", only.Name, bk.Failed-seen.Failed)
			}
		}
	}
	all := merge(served)
	checkLoad(t, all, all.total()+len(all.errors)+all.stalls)

	// Delete the pool. Its objects first, so that the check of what is
	// left cannot pass for want of objects.
	owned := s.poolObjects(ctx, name)
	have := map[string]int{}
	for _, o := range owned {
		have[o.kind]++
	}
	for kind, n := range map[string]int{"StatefulSet": 1, "ConfigMap": 1, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "Service": 1, "Secret": 2} {
		if have[kind] < n {
			t.Errorf("the pool of one has %d %s(s) before its deletion, want %d", have[kind], kind, n)
		}
	}
	if err := env.Client.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	within, cancelWithin = context.WithTimeout(ctx, time.Minute)
	defer cancelWithin()
	waitUntil(t, within, "the pool, its devices and its keys to be gone", func() error {
		if err := env.Client.Get(within, ctrlclient.ObjectKeyFromObject(ep), &gatewayv1alpha1.TailscaleEndpoints{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("pool still there: %v", err)
		}
		if err := wantDevices(s.ns, name, 0); err != nil {
			return err
		}
		for pod, k := range keys {
			if info, ok := env.Emulator.AuthKey(k); !ok || !info.Revoked {
				return fmt.Errorf("%s's auth key %s not revoked", pod, info.ID)
			}
		}
		return nil
	}, true)
	t.Logf("pool deleted, its devices and auth keys gone from the emulator %s after the delete", time.Since(began).Round(time.Millisecond))

	// The rest is the garbage collector's (the lab runs the real one):
	// the StatefulSet (its proxies stop), the machines' auth key and state
	// Secrets, the ConfigMap, the ServiceAccount, Role, RoleBinding and
	// headless Service, each controlled by the pool. Nothing may come
	// back: neither the devices (the stopped proxies' keys are revoked)
	// nor any object (the operator must not recreate them for a deleted
	// pool).
	for _, o := range owned {
		if !controlledBy(o.obj, ep.UID) {
			t.Errorf("%s %s has no controller reference to the pool (owners %+v): the garbage collector would leave it", o.kind, o.obj.GetName(), o.obj.GetOwnerReferences())
		}
	}
	waitUntil(t, within, "the garbage collector to remove the pool's objects, and its proxies to stop", func() error {
		if rest := s.poolObjects(within, name); len(rest) > 0 {
			return fmt.Errorf("%d objects left, first %s %s", len(rest), rest[0].kind, rest[0].obj.GetName())
		}
		for pod := range env.Pods.Running() {
			if strings.HasPrefix(pod, s.ns+"/"+name+"-") {
				return fmt.Errorf("%s still runs", pod)
			}
		}
		return nil
	}, true)
	t.Logf("the garbage collector removed the pool's %d objects %s after the delete", len(owned), time.Since(began).Round(time.Millisecond))
	if err := wantDevices(s.ns, name, 0); err != nil {
		t.Errorf("after the proxies stopped: %v", err)
	}
	if rest := s.poolObjects(ctx, name); len(rest) > 0 {
		t.Errorf("after the garbage collection, %d objects of the pool are back, first %s %s", len(rest), rest[0].kind, rest[0].obj.GetName())
	}
}

// poolAt creates a TailscaleEndpoints of `replicas` machines on port 80
// in the lab tailnet, forwarding to the given addresses.
func (s *scenario) poolAt(suffix string, labels map[string]string, replicas int32, addrs ...string) string {
	s.t.Helper()
	name := s.poolName(suffix)
	var hps []gatewayv1alpha1.HostPort
	for _, a := range addrs {
		hps = append(hps, gatewayv1alpha1.HostPort(a))
	}
	ep := &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: labels},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: devenv.TailnetName,
			Tags:    []gatewayv1alpha1.Tag{poolTag},
			Proxy: gatewayv1alpha1.ProxySpec{
				Replicas:       ptr.To(replicas),
				ConnectionType: gatewayv1alpha1.ConnectionTypeBidirectional,
				Ports:          []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: gatewayv1alpha1.ProtocolTCP}},
			},
			Backend: &gatewayv1alpha1.EndpointsBackend{Addresses: hps},
		},
	}
	if err := env.Client.Create(s.t.Context(), ep); err != nil {
		s.t.Fatalf("creating pool %s: %v", name, err)
	}
	return name
}

func (s *scenario) getPool(ctx context.Context, name string) (*gatewayv1alpha1.TailscaleEndpoints, error) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{}
	err := env.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: s.ns, Name: name}, ep)
	return ep, err
}

// waitPool waits until the pool's status lists exactly n machines, all
// ready, each with a tailnet IPv4 address and a MagicDNS name in the lab's
// domain, and readyReplicas is n.
func (s *scenario) waitPool(ctx context.Context, name string, n int) *gatewayv1alpha1.TailscaleEndpoints {
	s.t.Helper()
	var ep *gatewayv1alpha1.TailscaleEndpoints
	waitUntil(s.t, ctx, fmt.Sprintf("pool %s to list %d ready machines", name, n), func() error {
		var err error
		if ep, err = s.getPool(ctx, name); err != nil {
			return err
		}
		st := ep.Status
		if len(st.Machines) != n || st.ReadyReplicas != int32(n) {
			return fmt.Errorf("readyReplicas %d, machines %s", st.ReadyReplicas, machinesString(ep))
		}
		if c := meta.FindStatusCondition(st.Conditions, gatewayv1alpha1.ConditionConfigApplied); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("ConfigApplied: %+v", c)
		}
		for i, m := range st.Machines {
			if m.Name != pool.PodName(name, i) || !m.Ready || ipv4Of(m.TailnetIPs) == "" || m.DeviceID == "" ||
				m.Hostname != pool.MachineHostname(devenv.DefaultOperatorID, s.ns, name, i) || m.FQDN != m.Hostname+"."+env.Lab.Domain() {
				return fmt.Errorf("machine %d: %+v", i, m)
			}
		}
		return nil
	}, true)
	return ep
}

func machinesString(ep *gatewayv1alpha1.TailscaleEndpoints) string {
	var parts []string
	for _, m := range ep.Status.Machines {
		parts = append(parts, fmt.Sprintf("%s(ready=%t %v %s)", m.Name, m.Ready, m.TailnetIPs, m.FQDN))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func ipv4Of(ips []string) string {
	for _, ip := range ips {
		if a := net.ParseIP(ip); a != nil && a.To4() != nil {
			return ip
		}
	}
	return ""
}

func machineURL(ips []string) string { return "http://" + ipv4Of(ips) + ":80/" }

// checkMachineServes waits until the machine answers at its tailnet IP
// (the client's netmap may not have the new peer yet), then sends 10
// requests to its tailnet IP and 10 to its MagicDNS name: each set must
// be answered by every one of want. Failed requests and connect stalls
// are left to the caller, to count over all the test's requests
// (checkLoad).
func (s *scenario) checkMachineServes(ctx context.Context, m gatewayv1alpha1.Machine, want ...string) (out []load) {
	s.t.Helper()
	c := vipClient(3 * time.Second)
	for _, url := range []string{machineURL(m.TailnetIPs), "http://" + m.FQDN + ":80/"} {
		reach, cancel := context.WithTimeout(ctx, 30*time.Second)
		waitUntil(s.t, reach, "an answer from "+url, func() error {
			_, err := ask(reach, c, url)
			return err
		}, true)
		cancel()
		const n = 10
		l := send(ctx, url, n, 2)
		s.t.Logf("%s (%s): %d requests: %s", m.Name, url, n, l)
		out = append(out, l)
		for _, w := range want {
			if l.counts[w] == 0 {
				s.t.Errorf("%s: no answer from %s: %s", url, w, l)
			}
		}
	}
	return out
}

// scalePool sets spec.proxy.replicas.
func (s *scenario) scalePool(ctx context.Context, name string, replicas int32) {
	s.t.Helper()
	ep, err := s.getPool(ctx, name)
	if err != nil {
		s.t.Fatal(err)
	}
	patch := ctrlclient.MergeFrom(ep.DeepCopy())
	ep.Spec.Proxy.Replicas = ptr.To(replicas)
	if err := env.Client.Patch(ctx, ep, patch); err != nil {
		s.t.Fatalf("scaling %s to %d: %v", name, replicas, err)
	}
}

// authKeys reads the auth keys minted for the pool's first n machines
// from their Secrets (the key itself, by which the emulator looks it up),
// and checks the emulator knows each of them, not revoked.
func (s *scenario) authKeys(ctx context.Context, name string, n int) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for i := range n {
		pod := pool.PodName(name, i)
		sec := &corev1.Secret{}
		if err := env.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: s.ns, Name: pool.AuthKeySecretName(pod)}, sec); err != nil {
			s.t.Fatalf("auth key Secret of %s: %v", pod, err)
		}
		k := string(sec.Data[pool.AuthKeyKey])
		info, ok := env.Emulator.AuthKey(k)
		if !ok || info.Revoked || info.ID != string(sec.Data[pool.AuthKeyIDKey]) {
			s.t.Fatalf("auth key of %s in the emulator: known %t, %+v; Secret says ID %s", pod, ok, info, sec.Data[pool.AuthKeyIDKey])
		}
		out[pod] = k
	}
	return out
}

// wantDevices checks that the emulator lists exactly n devices of the
// pool's machines (hostnames <pool>-<ordinal>-<namespace>-<hash>, see
// pool.MachineHostname). The emulator's devices are the lab's nodes
// (apiemulator.Options.Tailnet is the lab; the e2e tests add none of their
// own), without those deleted through the API.
func wantDevices(namespace, poolName string, n int) error {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(poolName) + `-[0-9]+-` + regexp.QuoteMeta(namespace) + `-[0-9a-f]{6}$`)
	var got []string
	for _, d := range env.Lab.Devices() {
		if re.MatchString(d.Hostname) {
			got = append(got, d.Hostname)
		}
	}
	slices.Sort(got)
	if len(got) != n {
		return fmt.Errorf("the emulator lists devices %v of pool %s, want %d", got, poolName, n)
	}
	return nil
}

// poolObject is one Kubernetes object of a pool, with its kind.
type poolObject struct {
	kind string
	obj  ctrlclient.Object
}

// poolObjects lists the objects of the pool's kinds that carry its label
// (the ConfigMap included).
func (s *scenario) poolObjects(ctx context.Context, name string) []poolObject {
	s.t.Helper()
	opts := []ctrlclient.ListOption{ctrlclient.InNamespace(s.ns), ctrlclient.MatchingLabels{pool.LabelPool: name}}
	lists := map[string]ctrlclient.ObjectList{
		"StatefulSet":         &appsv1.StatefulSetList{},
		"Secret":              &corev1.SecretList{},
		"ConfigMap":           &corev1.ConfigMapList{},
		"ServiceAccount":      &corev1.ServiceAccountList{},
		"Service":             &corev1.ServiceList{},
		"Role":                &rbacv1.RoleList{},
		"RoleBinding":         &rbacv1.RoleBindingList{},
		"PodDisruptionBudget": &policyv1.PodDisruptionBudgetList{},
	}
	var out []poolObject
	for _, kind := range slices.Sorted(maps.Keys(lists)) {
		list := lists[kind]
		if err := env.Client.List(ctx, list, opts...); err != nil {
			s.t.Fatalf("listing %ss: %v", kind, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			s.t.Fatalf("reading the %s list: %v", kind, err)
		}
		for _, o := range items {
			out = append(out, poolObject{kind: kind, obj: o.(ctrlclient.Object)})
		}
	}
	return out
}

func controlledBy(obj ctrlclient.Object, uid types.UID) bool {
	for _, r := range obj.GetOwnerReferences() {
		if r.UID == uid && ptr.Deref(r.Controller, false) && r.Kind == "TailscaleEndpoints" {
			return true
		}
	}
	return false
}

// merge adds up loads.
func merge(ls []load) load {
	out := load{counts: map[string]int{}}
	for i, l := range ls {
		if i == 0 {
			out.began = l.began
		}
		for k, v := range l.counts {
			out.counts[k] += v
		}
		out.errors = append(out.errors, l.errors...)
		out.stalls += l.stalls
		out.slow = append(out.slow, l.slow...)
	}
	return out
}
