package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The tag every test pool carries; autoApprove lets it host VIP services.
const poolTag = "tag:e2e"

// scenario is one test's namespace and the objects it made there. Pool
// and service names start with the namespace's name, because the tailnet
// (machine hostnames) and the emulator (VIP service names) are shared.
type scenario struct {
	t       *testing.T
	ns      string
	cluster *devenv.Env // where the test's objects live: env unless newScenarioIn
}

// newScenario makes a namespace for the test; when the test ends it
// deletes the test's TailscaleServices and pools, and the pools'
// StatefulSets (sooner than the garbage collector would), which stops
// the proxies.
func newScenario(t *testing.T, name string) *scenario {
	t.Helper()
	needEnv(t)
	return newScenarioIn(t, env, name)
}

// newScenarioIn is newScenario in another cluster of the tailnet.
func newScenarioIn(t *testing.T, cluster *devenv.Env, name string) *scenario {
	t.Helper()
	s := &scenario{t: t, ns: name, cluster: cluster}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cluster.Client.Create(t.Context(), ns); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	t.Cleanup(s.cleanup)
	return s
}

func (s *scenario) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.cluster.Client
	in := ctrlclient.InNamespace(s.ns)
	for _, obj := range []ctrlclient.Object{&gatewayv1alpha1.TailscaleServices{}, &gatewayv1alpha1.TailscaleEndpoints{}} {
		if err := c.DeleteAllOf(ctx, obj, in); err != nil {
			s.t.Logf("cleanup: %v", err)
		}
	}
	// The finalizers remove the VIP services and devices; wait for them so
	// that the next test starts from a quiet operator.
	waitUntil(s.t, ctx, "the test's TailscaleServices and pools to be gone", func() error {
		tss := &gatewayv1alpha1.TailscaleServicesList{}
		eps := &gatewayv1alpha1.TailscaleEndpointsList{}
		if err := c.List(ctx, tss, in); err != nil {
			return err
		}
		if err := c.List(ctx, eps, in); err != nil {
			return err
		}
		if n := len(tss.Items) + len(eps.Items); n > 0 {
			return fmt.Errorf("%d left", n)
		}
		return nil
	}, false)
	if err := c.DeleteAllOf(ctx, &appsv1.StatefulSet{}, in); err != nil {
		s.t.Logf("cleanup: %v", err)
	}
	waitUntil(s.t, ctx, "the test's proxies to stop", func() error {
		for pod := range s.cluster.Pods.Running() {
			if strings.HasPrefix(pod, s.ns+"/") {
				return fmt.Errorf("%s still runs", pod)
			}
		}
		return nil
	}, false)
}

// poolName is the name of one of the test's pools.
func (s *scenario) poolName(suffix string) string { return s.ns + "-" + suffix }

// pool creates a TailscaleEndpoints of 2 machines on port 80 in the lab
// tailnet, forwarding to b.
func (s *scenario) pool(suffix string, labels map[string]string, b *backend) string {
	s.t.Helper()
	name := s.poolName(suffix)
	ep := &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: labels},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: devenv.TailnetName,
			Tags:    []gatewayv1alpha1.Tag{poolTag},
			Proxy: gatewayv1alpha1.ProxySpec{
				Replicas:       ptr.To[int32](2),
				ConnectionType: gatewayv1alpha1.ConnectionTypeBidirectional,
				Ports:          []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: gatewayv1alpha1.ProtocolTCP}},
			},
			Backend: &gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{gatewayv1alpha1.HostPort(b.addr)}},
		},
	}
	if err := s.cluster.Client.Create(s.t.Context(), ep); err != nil {
		s.t.Fatalf("creating pool %s: %v", name, err)
	}
	return name
}

// service creates a TailscaleServices named like the namespace (so the
// VIP service is svc:<ns>) selecting pools by labels, with autoApprove
// and the given load balancing, and returns the URL that reaches it.
func (s *scenario) service(selector map[string]string, lb *gatewayv1alpha1.LoadBalancingSpec) string {
	s.t.Helper()
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns, Namespace: s.ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector: metav1.LabelSelector{MatchLabels: selector},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{
				Ports:       []gatewayv1alpha1.VIPServicePort{"tcp:80"},
				Tags:        []gatewayv1alpha1.Tag{poolTag},
				AutoApprove: true,
			},
			LoadBalancing: lb,
		},
	}
	if err := s.cluster.Client.Create(s.t.Context(), ts); err != nil {
		s.t.Fatalf("creating TailscaleServices %s: %v", ts.Name, err)
	}
	return s.url()
}

// twoPools makes backends a and b, a pool forwarding to each labelled
// app=<app>, and the service selecting both with lb.
func (s *scenario) twoPools(app string, lb *gatewayv1alpha1.LoadBalancingSpec) (a, b *backend) {
	s.t.Helper()
	a, b = newBackend(s.t, "a"), newBackend(s.t, "b")
	labels := map[string]string{"app": app}
	s.pool("a", labels, a)
	s.pool("b", labels, b)
	s.service(labels, lb)
	return a, b
}

func (s *scenario) vipName() string { return "svc:" + s.ns }

func (s *scenario) vipDNSName() string { return s.ns + "." + env.Lab.Domain() }

func (s *scenario) url() string { return "http://" + s.vipDNSName() + "/" }

// healthCheck is a quick HTTP check, so that tests converge in seconds.
func healthCheck() *gatewayv1alpha1.HealthCheckSpec {
	return &gatewayv1alpha1.HealthCheckSpec{
		Enabled: true, Path: "/", Interval: "1s", Timeout: "500ms",
		HealthyThreshold: 1, UnhealthyThreshold: 2,
	}
}

// status reads the TailscaleServices.
func (s *scenario) status(ctx context.Context) (*gatewayv1alpha1.TailscaleServices, error) {
	ts := &gatewayv1alpha1.TailscaleServices{}
	err := s.cluster.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: s.ns, Name: s.ns}, ts)
	return ts, err
}

// waitReady waits until the TailscaleServices is Ready with healthy
// backends in every selected pool, and then until traffic reaches every
// backend in want.
func (s *scenario) waitServing(ctx context.Context, want ...string) {
	s.t.Helper()
	c := vipClient(3 * time.Second)
	seen := map[string]bool{}
	waitUntil(s.t, ctx, fmt.Sprintf("%s to answer from %v", s.url(), want), func() error {
		name, err := ask(ctx, c, s.url())
		if err != nil {
			return err
		}
		seen[name] = true
		for _, w := range want {
			if !seen[w] {
				return fmt.Errorf("seen %v so far", slices.Sorted(maps.Keys(seen)))
			}
		}
		return nil
	}, true)
}

// waitStatus polls the TailscaleServices until check accepts it.
func (s *scenario) waitStatus(ctx context.Context, what string, check func(*gatewayv1alpha1.TailscaleServices) error) {
	s.t.Helper()
	waitUntil(s.t, ctx, what, func() error {
		ts, err := s.status(ctx)
		if err != nil {
			return err
		}
		return check(ts)
	}, true)
}

// ready accepts a Ready TailscaleServices whose status says every one of
// its `backends` backends is healthy.
func ready(backends int32) func(*gatewayv1alpha1.TailscaleServices) error {
	return func(ts *gatewayv1alpha1.TailscaleServices) error {
		c := meta.FindStatusCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready condition %+v", c)
		}
		v := ts.Status.VIPServiceStatus
		if v == nil || v.BackendCount != backends || v.HealthyBackendCount != backends {
			return fmt.Errorf("vipServiceStatus %+v, want %d healthy backends", v, backends)
		}
		return nil
	}
}

// load is what a burst of requests saw.
type load struct {
	counts map[string]int // answers by backend
	errors []error        // failed requests, connect stalls excepted
	stalls int            // connects to the VIP address that got no answer
	slow   []string       // requests that took more than a second: when, how long, outcome
	began  time.Time
}

func (l load) total() int {
	n := 0
	for _, c := range l.counts {
		n += c
	}
	return n
}

func (l load) String() string {
	keys := slices.Sorted(maps.Keys(l.counts))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, l.counts[k]))
	}
	s := strings.Join(parts, " ")
	if l.stalls > 0 {
		s += fmt.Sprintf(", %d connect stalls", l.stalls)
	}
	if len(l.errors) > 0 {
		s += fmt.Sprintf(", %d errors (first: %v)", len(l.errors), l.errors[0])
	}
	if len(l.slow) > 0 {
		s += fmt.Sprintf(", %d slow: %v", len(l.slow), l.slow)
	}
	return s
}

// share is the fraction of answers that came from name.
func (l load) share(name string) float64 {
	if l.total() == 0 {
		return 0
	}
	return float64(l.counts[name]) / float64(l.total())
}

// send makes n requests with `workers` concurrent clients, each request
// on a new connection.
func send(ctx context.Context, url string, n, workers int) load {
	return sendUntil(ctx, url, workers, func(i int) bool { return i < n })
}

// sendUntil makes requests from `workers` concurrent clients, each on a
// new connection, while more(i) accepts the index of the next one.
func sendUntil(ctx context.Context, url string, workers int, more func(i int) bool) load {
	return sendUntilWith(ctx, vipClient(10*time.Second), url, workers, more)
}

// sendUntilWith is sendUntil with the caller's client (HTTPS, say).
func sendUntilWith(ctx context.Context, c *http.Client, url string, workers int, more func(i int) bool) load {
	var (
		mu   sync.Mutex
		next int
		l    = load{counts: map[string]int{}, began: time.Now()}
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if !more(i) || ctx.Err() != nil {
					return
				}
				began := time.Now()
				name, err := ask(ctx, c, url)
				took := time.Since(began)
				mu.Lock()
				if took > time.Second && !errors.Is(err, errConnectStall) {
					outcome := name
					if err != nil {
						outcome = "error"
					}
					l.slow = append(l.slow, fmt.Sprintf("%s+%s:%s", began.Format("15:04:05.000"), took.Round(time.Millisecond), outcome))
				}
				switch {
				case errors.Is(err, errConnectStall):
					l.stalls++
				case err != nil:
					l.errors = append(l.errors, fmt.Errorf("%s: %w", began.Format("15:04:05.000"), err))
				default:
					l.counts[name]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return l
}

// waitUntil polls f every 100ms until it succeeds or ctx ends; then it
// fails the test (fatal: stop the test) or only reports.
func waitUntil(t *testing.T, ctx context.Context, what string, f func() error, fatal bool) {
	t.Helper()
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			if fatal {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			t.Errorf("waiting for %s: %v", what, err)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// configMapsMention lists the pools' ConfigMaps (in every namespace) whose
// proxy configuration mentions the VIP service.
func configMapsMention(ctx context.Context, vip string) ([]string, error) {
	list := &corev1.ConfigMapList{}
	if err := env.Client.List(ctx, list, ctrlclient.MatchingLabels{pool.LabelManagedBy: pool.ManagedBy}); err != nil {
		return nil, err
	}
	var out []string
	for _, cm := range list.Items {
		if strings.Contains(cm.Data[pool.ConfigKey], vip) {
			out = append(out, cm.Namespace+"/"+cm.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// reports reads what the test's machines report in their state Secrets.
func (s *scenario) reports(ctx context.Context) (map[string]pool.MachineStatus, error) {
	list := &corev1.SecretList{}
	if err := s.cluster.Client.List(ctx, list, ctrlclient.InNamespace(s.ns)); err != nil {
		return nil, err
	}
	out := map[string]pool.MachineStatus{}
	for _, sec := range list.Items {
		raw, ok := sec.Data[pool.StatusKey]
		if !ok {
			continue
		}
		var st pool.MachineStatus
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", sec.Name, err)
		}
		out[strings.TrimSuffix(sec.Name, "-state")] = st
	}
	return out, nil
}

// logReports logs, for every machine, the VIP service's backends as it
// sees them: health and connection counters.
func (s *scenario) logReports(ctx context.Context) {
	reps, err := s.reports(ctx)
	if err != nil {
		s.t.Logf("machine reports: %v", err)
		return
	}
	for _, host := range slices.Sorted(maps.Keys(reps)) {
		for key, svc := range reps[host].Services {
			if !strings.HasPrefix(key, s.vipName()) {
				continue
			}
			var parts []string
			for _, b := range svc.Backends {
				parts = append(parts, fmt.Sprintf("%s(healthy=%t active=%d total=%d failed=%d)", b.Name, b.Healthy, b.Active, b.Total, b.Failed))
			}
			s.t.Logf("%s %s tier=%q panic=%t: %s", host, key, svc.ActiveTier, svc.Panic, strings.Join(parts, " "))
		}
	}
}

// checkLoad fails the test on any failed request and on any connect to the
// VIP address that got no answer (errConnectStall). Stalls were tolerated
// up to 3% until their cause, netstack's TIME-WAIT, was fixed
// (internal/tsnetstack).
func checkLoad(t *testing.T, l load, n int) {
	t.Helper()
	if len(l.errors) > 0 {
		t.Errorf("%d of %d requests failed; first: %v", len(l.errors), n, l.errors[0])
	}
	if l.stalls > 0 {
		t.Errorf("%d of %d connects to the VIP address got no answer within %s", l.stalls, n, connectTimeout)
	}
}

// hostPod names the machine the lab routes the VIP service to.
func (s *scenario) hostPod(context.Context) string {
	id, ok := env.Lab.ServiceHost(s.vipName())
	if !ok {
		return "(no host)"
	}
	for _, d := range env.Lab.Devices() {
		if d.NodeID == string(id) {
			return d.Hostname
		}
	}
	return string(id)
}
