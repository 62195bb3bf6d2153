package services_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// proxyPod creates a running pod of the pool, as the StatefulSet and the
// kubelet would.
func (f *fixture) proxyPod(t *testing.T, poolName string, ordinal int, ip string, ready bool) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pool.PodName(poolName, ordinal), Namespace: ns,
			Labels: map[string]string{pool.LabelPool: poolName, pool.LabelManagedBy: pool.ManagedBy}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "proxy", Image: "tsgw-proxy"}}, NodeName: "node-a"},
	}
	f.create(t, p)
	f.setPod(t, p, ip, ready)
	return p
}

// reportServing writes the pod's report as its proxy would once it serves
// services (and listens on their pod ports).
func (f *fixture) reportServing(t *testing.T, p *corev1.Pod, services ...string) {
	t.Helper()
	st := pool.MachineStatus{Ready: true, Services: map[string]pool.ServiceReport{}, Updated: time.Now()}
	for _, s := range services {
		st.Services[s] = pool.ServiceReport{}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pool.StateSecretName(p.Name), Namespace: ns, Labels: p.Labels}}
	if _, err := controllerutil.CreateOrUpdate(t.Context(), f.env.Client, sec, func() error {
		sec.Data = map[string][]byte{pool.StatusKey: raw}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) setPod(t *testing.T, p *corev1.Pod, ip string, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}
	if err := f.env.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// podPort is where the pool's configuration serves a VIP service port to
// the cluster.
func podPort(cfg *proxyconfig.Config, service string) int32 {
	for _, l := range cfg.Listeners {
		if l.Network == proxyconfig.NetworkPod && l.Service == service {
			var port int32
			fmt.Sscanf(l.Address, ":%d", &port)
			return port
		}
	}
	return 0
}

// slice describes the pool's EndpointSlice of the service: its port and
// endpoints as address=ready.
func (f *fixture) slice(ctx context.Context, name string) string {
	sl := &discoveryv1.EndpointSlice{}
	if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sl); err != nil {
		return err.Error()
	}
	out := sl.Labels[discoveryv1.LabelServiceName]
	for _, p := range sl.Ports {
		out += fmt.Sprintf(" %s->%d", *p.Name, *p.Port)
	}
	for _, e := range sl.Endpoints {
		out += fmt.Sprintf(" %s=%t", e.Addresses[0], *e.Conditions.Ready)
	}
	return out
}

func TestInClusterService(t *testing.T) {
	f := start(t)
	f.pool(t, "web-east", "east", "127.0.0.1:18081", 1)
	f.pool(t, "web-west", "west", "127.0.0.1:18082", 3)
	east0 := f.proxyPod(t, "web-east", 0, "10.1.0.10", true)
	east1 := f.proxyPod(t, "web-east", 1, "10.1.0.11", true)
	f.service(t, "web", "svc:web")

	// Ready pods whose proxies have not reported serving svc:web:80 do not
	// listen on its pod port yet: no ready endpoints until they do.
	eventually(t, "web-east's pods listed, not ready", func(ctx context.Context) (bool, string) {
		s := f.slice(ctx, "web-vip-web-east")
		return strings.HasSuffix(s, " 10.1.0.10=false 10.1.0.11=false"), s
	})
	f.reportServing(t, east0, "pool:80", "svc:web:80")
	f.reportServing(t, east1, "pool:80", "svc:web:80")

	eventually(t, "the in-cluster Service and the pools' EndpointSlices", func(ctx context.Context) (bool, string) {
		svc := &corev1.Service{}
		if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-vip"}, svc); err != nil {
			return false, err.Error()
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "tcp-80" || svc.Spec.Ports[0].Port != 80 || svc.Spec.Selector != nil ||
			len(svc.OwnerReferences) != 1 || svc.OwnerReferences[0].Name != "web" {
			return false, fmt.Sprintf("Service %+v %+v", svc.Spec, svc.OwnerReferences)
		}
		cfg := f.proxyConfig(ctx, "web-east")
		if cfg == nil {
			return false, "no config"
		}
		port := podPort(cfg, "svc:web:80")
		want := fmt.Sprintf("web-vip tcp-80->%d 10.1.0.10=true 10.1.0.11=true", port)
		east, west := f.slice(ctx, "web-vip-web-east"), f.slice(ctx, "web-vip-web-west")
		return port != 0 && east == want && west == fmt.Sprintf("web-vip tcp-80->%d", port),
			fmt.Sprintf("east %q (want %q), west %q", east, want, west)
	})
	if c := condition(f.get(t.Context(), "web"), "ClusterServiceReady"); c != "True/Created" {
		t.Errorf("ClusterServiceReady %s", c)
	}

	t.Run("a pod that is not ready is not a ready endpoint", func(t *testing.T) {
		f.setPod(t, east0, "10.1.0.10", false)
		eventually(t, "10.1.0.10 not ready", func(ctx context.Context) (bool, string) {
			s := f.slice(ctx, "web-vip-web-east")
			return strings.HasSuffix(s, " 10.1.0.10=false 10.1.0.11=true"), s
		})
	})

	t.Run("a Service of that name that is not ours is left alone", func(t *testing.T) {
		theirs := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taken-vip", Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
		f.create(t, theirs)
		f.service(t, "taken", "svc:taken")
		eventually(t, "ClusterServiceReady False/NameTaken", func(ctx context.Context) (bool, string) {
			c := condition(f.get(ctx, "taken"), "ClusterServiceReady")
			return c == "False/NameTaken", c
		})
		got := &corev1.Service{}
		if err := f.env.Client.Get(t.Context(), client.ObjectKeyFromObject(theirs), got); err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Ports) != 1 || got.Spec.Ports[0].Name != "http" || len(got.OwnerReferences) != 0 {
			t.Errorf("their Service was changed: %+v %+v", got.Spec.Ports, got.OwnerReferences)
		}
		eventually(t, "the pools serve svc:taken", func(ctx context.Context) (bool, string) {
			cfg := f.proxyConfig(ctx, "web-east")
			return cfg != nil && podPort(cfg, "svc:taken:80") != 0, "not yet"
		})
		// A reconcile of the pool that knows svc:taken (slices are written
		// in name order: taken's before web's).
		f.setPod(t, east0, "10.1.0.10", true)
		eventually(t, "10.1.0.10 ready again", func(ctx context.Context) (bool, string) {
			s := f.slice(ctx, "web-vip-web-east")
			return strings.HasSuffix(s, " 10.1.0.10=true 10.1.0.11=true"), s
		})
		list := &discoveryv1.EndpointSliceList{}
		if err := f.env.Client.List(t.Context(), list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: "taken-vip"}); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 0 {
			t.Errorf("%d EndpointSlices add the pools' pods to their Service", len(list.Items))
		}
	})

	t.Run("a deleted TailscaleServices takes its EndpointSlices with it", func(t *testing.T) {
		if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), "web")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the slices deleted", func(ctx context.Context) (bool, string) {
			list := &discoveryv1.EndpointSliceList{}
			if err := f.env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: "web-vip"}); err != nil {
				return false, err.Error()
			}
			return len(list.Items) == 0, fmt.Sprintf("%d slices", len(list.Items))
		})
	})
}

// The API server refusing the in-cluster Service (here an admission
// policy, as a cluster's rules might) is the ClusterServiceReady condition
// with the API server's reason; the VIP service is still registered and
// the rest of the status written. Once the refusal goes, the Service
// follows.
func TestRefusedClusterServiceIsItsOwnCondition(t *testing.T) {
	f := start(t)
	policy, binding := denyVIPServices()
	f.create(t, policy)
	f.create(t, binding)
	eventually(t, "the admission policy in force", func(ctx context.Context) (bool, string) {
		probe := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "probe-vip", Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		err := f.env.Client.Create(ctx, probe, client.DryRunAll)
		return err != nil, fmt.Sprint(err)
	})
	f.pool(t, "web-east", "east", "127.0.0.1:18081", 1)
	f.service(t, "web", "svc:web")
	eventually(t, "ClusterServiceReady False/Forbidden beside a registered VIP service", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		cluster, vip := condition(ts, "ClusterServiceReady"), condition(ts, "VIPServiceReady")
		_, err := f.api.GetVIPService(ctx, "svc:web")
		return cluster == "False/Forbidden" && vip == "True/Registered" && err == nil && ts.Status.SelectedEndpoints != nil,
			fmt.Sprintf("ClusterServiceReady %s, VIPServiceReady %s, VIP service in the API: %v", cluster, vip, err)
	})
	if msg := conditionMessage(f.get(t.Context(), "web"), "ClusterServiceReady"); !strings.Contains(msg, "web-vip") || !strings.Contains(msg, "no -vip Services here") {
		t.Errorf("message %q does not name the Service and the API server's reason", msg)
	}
	if err := f.env.Client.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ClusterServiceReady True once the policy is gone", func(ctx context.Context) (bool, string) {
		c := condition(f.get(ctx, "web"), "ClusterServiceReady")
		return c == "True/Created", c
	})
}

// denyVIPServices is an admission policy refusing Services named *-vip.
func denyVIPServices() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	forbidden := metav1.StatusReasonForbidden
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "no-vip-services"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!object.metadata.name.endsWith('-vip')", Message: "no -vip Services here", Reason: &forbidden,
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "no-vip-services"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policy.Name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return policy, binding
}
