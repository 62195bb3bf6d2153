package planner

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// Problem is why something is not as desired; it becomes a False condition.
type Problem struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Observed is everything the status is computed from.
type Observed struct {
	Service Service `json:"service"`
	// VIP is the VIP service as the tailnet has it; nil when absent.
	VIP *tsapi.VIPService `json:"vip,omitempty"`
	// VIPProblem says why the VIP service is not as desired.
	VIPProblem *Problem `json:"vipProblem,omitempty"`
	// Registry of the VIP service, when it has one.
	Registry *coordination.Registry `json:"registry,omitempty"`
	// Domain is the tailnet's MagicDNS domain.
	Domain string `json:"domain,omitempty"`
	// Reports of the selected pools' machines, by pod name.
	Reports map[string]pool.MachineStatus `json:"reports,omitempty"`
	// ProvisionProblem says why spec.endpointTemplate could not be honoured.
	ProvisionProblem *Problem `json:"provisionProblem,omitempty"`
	// Discovered are the VIP services service discovery matched.
	Discovered []string `json:"discovered,omitempty"`
	// UsedAsIs: the VIP service was not made by Tailscale Gateway and
	// discovery uses it as it is; autoApprove does not touch the policy.
	UsedAsIs bool `json:"usedAsIs,omitempty"`
	// ClusterServiceProblem says why the in-cluster Service could not be
	// written (ClusterServiceCheck's problems are found by Status itself).
	ClusterServiceProblem *Problem `json:"clusterServiceProblem,omitempty"`
	// Registered is when the VIP service was last written by us.
	Registered *metav1.Time `json:"registered,omitempty"`
	// Tailnet is the tailnet in which this pass found or put the VIP
	// service it uses; "" when the pass did not get that far.
	Tailnet string `json:"tailnet,omitempty"`
	// ReleasedFrom is the tailnet this pass released the VIP service from,
	// because the selected pools moved to another.
	ReleasedFrom string `json:"releasedFrom,omitempty"`
	// Previous status, for the times that carry forward.
	Previous gatewayv1alpha1.TailscaleServicesStatus `json:"previous"`
	Now      metav1.Time                             `json:"now"`
}

// Status computes the status of a TailscaleServices from scratch.
func Status(o Observed) gatewayv1alpha1.TailscaleServicesStatus {
	ts := o.Service.Object
	view := newBackendView(o)
	st := gatewayv1alpha1.TailscaleServicesStatus{
		ObservedGeneration:  ts.Generation,
		SelectedEndpoints:   selectedEndpoints(o, view),
		VIPServiceStatus:    vipServiceStatus(o, view),
		LoadBalancingStatus: loadBalancingStatus(o, view),
		ServiceInfo:         serviceInfo(o),
		Tailnet:             vipTailnet(o),
		Conditions:          slices.Clone(o.Previous.Conditions),
	}
	for _, c := range conditions(o, view) {
		meta.SetStatusCondition(&st.Conditions, c)
	}
	if sd := ts.Spec.ServiceDiscovery; sd == nil || len(sd.ExternalServices) == 0 {
		meta.RemoveStatusCondition(&st.Conditions, gatewayv1alpha1.ConditionExternalServicesReady)
	}
	if meta.IsStatusConditionTrue(st.Conditions, gatewayv1alpha1.ConditionClusterServiceReady) {
		st.ClusterServiceName = InClusterServiceName(ts.Name)
	}
	return st
}

// vipTailnet is where the VIP service lives: the tailnet this pass used it
// in; else the one the previous status recorded, unless this pass released
// it from there. A pass that did not reach the tailnet (an API error, pools
// in two tailnets) keeps what is known, so that a deletion still finds it.
func vipTailnet(o Observed) string {
	switch {
	case o.Tailnet != "":
		return o.Tailnet
	case o.ReleasedFrom != "" && o.ReleasedFrom == o.Previous.Tailnet:
		return ""
	}
	return o.Previous.Tailnet
}

// backendView is what the hosts report about the service's backends.
type backendView struct {
	keys []string // report keys of this service's ports
	// healthy is true for a backend name that some host sees healthy.
	healthy map[string]bool
	// requests counts connections by group, over every host.
	requests map[string]int64
	// lastCheck is the latest health check of any backend of a pool.
	lastCheck map[string]time.Time
}

func newBackendView(o Observed) backendView {
	v := backendView{healthy: map[string]bool{}, requests: map[string]int64{}, lastCheck: map[string]time.Time{}}
	name := o.Service.VIPName()
	for _, port := range vipTCPPorts(o.Service) {
		v.keys = append(v.keys, VIPServiceKey(name, port))
	}
	// Counts go into the status by group: only the service's own groups
	// are counted, whatever else a report names (its pod writes it).
	groups := map[string]bool{}
	for _, p := range o.Service.Pools {
		groups[p.Name] = true
	}
	if sd := o.Service.Object.Spec.ServiceDiscovery; sd != nil {
		for _, e := range sd.ExternalServices {
			groups[e.Name] = true
		}
	}
	for _, host := range slices.Sorted(maps.Keys(o.Reports)) {
		r := o.Reports[host]
		for _, key := range v.keys {
			for _, b := range r.Services[key].Backends {
				v.healthy[b.Name] = v.healthy[b.Name] || b.Healthy
				if !groups[b.Group] {
					continue
				}
				v.requests[b.Group] += b.Total
				if b.LastCheck != nil && b.LastCheck.After(v.lastCheck[b.Group]) {
					v.lastCheck[b.Group] = *b.LastCheck
				}
			}
		}
	}
	return v
}

// machineHealthy: a machine serves the service when it is ready and either
// another host's checks through it pass, or it sees one of its own pool's
// backends healthy.
func (v backendView) machineHealthy(o Observed, p Pool, m gatewayv1alpha1.Machine) bool {
	if !m.Ready {
		return false
	}
	if v.healthy[PoolBackendName(p.Name, m.Name)] {
		return true
	}
	for _, key := range v.keys {
		for _, b := range o.Reports[m.Name].Services[key].Backends {
			if b.Group == p.Name && b.Healthy {
				return true
			}
		}
	}
	return false
}

func selectedEndpoints(o Observed, v backendView) []gatewayv1alpha1.SelectedEndpoint {
	prev := map[string]*metav1.Time{}
	for _, se := range o.Previous.SelectedEndpoints {
		prev[se.Namespace+"/"+se.Name] = se.LastSelected
	}
	out := make([]gatewayv1alpha1.SelectedEndpoint, 0, len(o.Service.Pools))
	for _, p := range o.Service.Pools {
		se := gatewayv1alpha1.SelectedEndpoint{
			Name: p.Name, Namespace: p.Namespace, Labels: p.Labels,
			LastSelected: prev[p.Namespace+"/"+p.Name],
			HealthStatus: &gatewayv1alpha1.EndpointHealthStatus{},
		}
		if se.LastSelected == nil {
			se.LastSelected = &o.Now
		}
		for _, m := range p.Machines {
			se.Machines = append(se.Machines, m.Name)
			if v.machineHealthy(o, p, m) {
				se.HealthStatus.HealthyMachines++
			} else {
				se.HealthStatus.UnhealthyMachines++
			}
		}
		if t, ok := v.lastCheck[p.Name]; ok {
			se.HealthStatus.LastHealthCheck = &metav1.Time{Time: t}
		}
		se.Status = poolState(p, se.HealthStatus)
		out = append(out, se)
	}
	return out
}

// poolState is Ready (a machine serves), Pending (machines not ready yet)
// or Unavailable (machines ready, none healthy).
func poolState(p Pool, h *gatewayv1alpha1.EndpointHealthStatus) string {
	switch {
	case h.HealthyMachines > 0:
		return gatewayv1alpha1.SelectedEndpointReady
	case slices.ContainsFunc(p.Machines, func(m gatewayv1alpha1.Machine) bool { return m.Ready }):
		return gatewayv1alpha1.SelectedEndpointUnavailable
	default:
		return gatewayv1alpha1.SelectedEndpointPending
	}
}

func vipServiceStatus(o Observed, v backendView) *gatewayv1alpha1.VIPServiceStatus {
	name := o.Service.VIPName()
	st := &gatewayv1alpha1.VIPServiceStatus{
		Created:          o.VIP != nil,
		ServiceName:      name,
		DNSName:          DNSName(name, o.Domain),
		LastRegistration: o.Registered,
	}
	if o.VIP != nil {
		st.Addresses = o.VIP.Addrs
		st.ServiceTags = o.VIP.Tags
	}
	st.BackendCount, st.HealthyBackendCount = v.counts(o)
	return st
}

// counts are the service's backends (every selected machine and external
// service) and how many of them serve.
func (v backendView) counts(o Observed) (total, healthy int32) {
	for _, p := range o.Service.Pools {
		for _, m := range p.Machines {
			total++
			if v.machineHealthy(o, p, m) {
				healthy++
			}
		}
	}
	if sd := o.Service.Object.Spec.ServiceDiscovery; sd != nil {
		for _, e := range sd.ExternalServices {
			total++
			if v.healthy[ExternalBackendName(e.Name)] {
				healthy++
			}
		}
	}
	return total, healthy
}

func loadBalancingStatus(o Observed, v backendView) *gatewayv1alpha1.LoadBalancingStatus {
	ts := o.Service.Object
	st := &gatewayv1alpha1.LoadBalancingStatus{Strategy: specStrategy(ts)}
	if len(v.requests) > 0 {
		st.RequestCounts = v.requests
	}
	if st.Strategy == gatewayv1alpha1.StrategyWeighted {
		st.EndpointWeights = effectiveWeights(o.Service)
	}
	if st.Strategy == gatewayv1alpha1.StrategyFailover {
		st.FailoverStatus = failoverStatus(o, v)
	}
	return st
}

// effectiveWeights shows every group's weight, listed or not.
func effectiveWeights(s Service) map[string]int32 {
	w := map[string]int32{}
	for _, p := range s.Pools {
		w[p.Name] = int32(*weightOf(s.Object, p.Name))
	}
	for _, b := range externalBackends(s, 0) {
		w[b.Group] = int32(*b.Weight)
	}
	return w
}

// failoverStatus is the tier most hosts serve from, with the latest switch.
func failoverStatus(o Observed, v backendView) *gatewayv1alpha1.FailoverStatus {
	votes := map[string]int{}
	st := &gatewayv1alpha1.FailoverStatus{LastFailover: previousFailover(o.Previous)}
	for _, host := range slices.Sorted(maps.Keys(o.Reports)) {
		for _, key := range v.keys {
			r := o.Reports[host].Services[key]
			if r.ActiveTier == "" {
				continue
			}
			votes[r.ActiveTier]++
			if r.LastFailover != nil && (st.LastFailover == nil || r.LastFailover.After(st.LastFailover.Time)) {
				st.LastFailover = &metav1.Time{Time: *r.LastFailover}
				st.FailoverReason = r.FailoverReason
			}
		}
	}
	tiers := slices.Sorted(maps.Keys(votes))
	sort.SliceStable(tiers, func(i, j int) bool { return votes[tiers[i]] > votes[tiers[j]] })
	if len(tiers) > 0 {
		st.ActiveTier = tiers[0]
	}
	if st.FailoverReason == "" && o.Previous.LoadBalancingStatus != nil && o.Previous.LoadBalancingStatus.FailoverStatus != nil {
		st.FailoverReason = o.Previous.LoadBalancingStatus.FailoverStatus.FailoverReason
	}
	return st
}

func previousFailover(prev gatewayv1alpha1.TailscaleServicesStatus) *metav1.Time {
	if prev.LoadBalancingStatus == nil || prev.LoadBalancingStatus.FailoverStatus == nil {
		return nil
	}
	return prev.LoadBalancingStatus.FailoverStatus.LastFailover
}

func serviceInfo(o Observed) *gatewayv1alpha1.ServiceInfo {
	if o.Registry == nil {
		return nil
	}
	info := &gatewayv1alpha1.ServiceInfo{
		OwnerOperator:      o.Registry.Owner.OperatorID,
		ServiceRegistryKey: coordination.Annotation,
		LastCoordination:   &metav1.Time{Time: o.Registry.Owner.LastSeen},
	}
	for _, c := range o.Registry.Consumers {
		info.ConsumerOperators = append(info.ConsumerOperators, c.OperatorID)
		if c.LastSeen.After(info.LastCoordination.Time) {
			info.LastCoordination = &metav1.Time{Time: c.LastSeen}
		}
	}
	info.MultiOperatorService = len(info.ConsumerOperators) > 0
	return info
}

func conditions(o Observed, v backendView) []metav1.Condition {
	gen := o.Service.Object.Generation
	cond := func(t string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: t, Status: s, Reason: reason, Message: gatewayv1alpha1.BoundedMessage(msg), ObservedGeneration: gen, LastTransitionTime: o.Now}
	}
	var out []metav1.Condition
	if n := len(o.Service.Pools); n > 0 {
		out = append(out, cond(gatewayv1alpha1.ConditionSelected, true, gatewayv1alpha1.ReasonPoolsSelected, fmt.Sprintf("the selector matches %d TailscaleEndpoints", n)))
	} else {
		out = append(out, cond(gatewayv1alpha1.ConditionSelected, false, gatewayv1alpha1.ReasonNoPoolsSelected, "the selector matches no TailscaleEndpoints in this namespace; label a pool to match spec.selector"))
	}
	switch {
	case o.VIPProblem != nil:
		out = append(out, cond(gatewayv1alpha1.ConditionVIPServiceReady, false, o.VIPProblem.Reason, o.VIPProblem.Message))
	case o.VIP == nil:
		out = append(out, cond(gatewayv1alpha1.ConditionVIPServiceReady, false, gatewayv1alpha1.ReasonPending, "the VIP service is not created yet"))
	default:
		out = append(out, cond(gatewayv1alpha1.ConditionVIPServiceReady, true, gatewayv1alpha1.ReasonRegistered,
			fmt.Sprintf("%s exists in the tailnet with addresses %v", o.VIP.Name, o.VIP.Addrs)+approvalNote(o)))
	}
	if sd := o.Service.Object.Spec.ServiceDiscovery; sd != nil && sd.DiscoverVIPServices {
		out = append(out, discoveredCondition(o, cond))
	}
	if o.Service.Object.Spec.EndpointTemplate != nil {
		out = append(out, provisionedCondition(o, cond))
	}
	out = append(out, clusterServiceCondition(o, cond))
	if c := externalServicesCondition(o.Service, cond); c != nil {
		out = append(out, *c)
	}
	total, healthy := v.counts(o)
	if healthy > 0 {
		out = append(out, cond(gatewayv1alpha1.ConditionHealthy, true, gatewayv1alpha1.ReasonBackendsHealthy, fmt.Sprintf("%d of %d backends are healthy", healthy, total)))
	} else {
		out = append(out, cond(gatewayv1alpha1.ConditionHealthy, false, gatewayv1alpha1.ReasonNoHealthyBackends, fmt.Sprintf("none of %d backends is healthy; the proxies try all of them (panic mode)", total)))
	}
	ready := true
	for _, c := range out {
		// ExternalServicesReady too: a held-out external service is one
		// backend that does not serve, like an unhealthy one; Healthy
		// counts it, and the service is Ready while others serve.
		informational := c.Type == gatewayv1alpha1.ConditionDiscovered || c.Type == gatewayv1alpha1.ConditionAutoProvisioned ||
			c.Type == gatewayv1alpha1.ConditionClusterServiceReady || c.Type == gatewayv1alpha1.ConditionExternalServicesReady
		ready = ready && (c.Status == metav1.ConditionTrue || informational)
	}
	msg := "the VIP service is registered and served by healthy backends"
	reason := gatewayv1alpha1.ReasonServing
	if !ready {
		reason, msg = gatewayv1alpha1.ReasonNotServing, "see the Selected, VIPServiceReady and Healthy conditions"
	}
	return append(out, cond(gatewayv1alpha1.ConditionReady, ready, reason, msg))
}

// discoveredCondition says what service discovery found and what the
// TailscaleServices did with it.
func discoveredCondition(o Observed, cond func(string, bool, string, string) metav1.Condition) metav1.Condition {
	name := o.Service.VIPName()
	if len(o.Discovered) == 0 {
		return cond(gatewayv1alpha1.ConditionDiscovered, false, gatewayv1alpha1.ReasonNoneMatched,
			fmt.Sprintf("no VIP service in the tailnet matches serviceDiscovery.vipServiceSelector; using %s", name))
	}
	msg := fmt.Sprintf("matched %s", strings.Join(o.Discovered, ", "))
	if slices.Contains(o.Discovered, name) {
		msg += "; attached to " + name
	}
	return cond(gatewayv1alpha1.ConditionDiscovered, true, gatewayv1alpha1.ReasonMatched, msg)
}

// provisionedCondition says whether the template's pool serves the service.
func provisionedCondition(o Observed, cond func(string, bool, string, string) metav1.Condition) metav1.Condition {
	if p := o.ProvisionProblem; p != nil {
		return cond(gatewayv1alpha1.ConditionAutoProvisioned, false, p.Reason, p.Message)
	}
	auto := AutoPoolName(o.Service.Object)
	for _, p := range o.Service.Pools {
		if p.Name == auto {
			return cond(gatewayv1alpha1.ConditionAutoProvisioned, true, gatewayv1alpha1.ReasonProvisioned, "no pool matched the selector, so "+auto+" was created from spec.endpointTemplate")
		}
	}
	return cond(gatewayv1alpha1.ConditionAutoProvisioned, false, gatewayv1alpha1.ReasonNotNeeded, "other pools match the selector; nothing is auto-provisioned")
}
