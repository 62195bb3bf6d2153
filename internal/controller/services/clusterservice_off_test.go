package services_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// spec.clusterService.enabled: false turns the in-cluster Service off: the
// one we made goes with its EndpointSlices and the pools' pod listeners, a
// Service of that name we did not make stays, ClusterServiceReady says
// Disabled, and the VIP service stays registered and Ready. Turned on
// again, the Service comes back.
func TestClusterServiceTurnedOff(t *testing.T) {
	f := start(t)
	f.pool(t, "web-east", "east", "127.0.0.1:18081", 1)
	f.proxyPod(t, "web-east", 0, "10.1.0.10", true)
	f.service(t, "web", "svc:web")
	report(t, f, "web-east-0", pool.BackendReport{Name: "web-east/127.0.0.1:18081", Group: "web-east", Address: "127.0.0.1:18081", Healthy: true})
	eventually(t, "Service web-vip, its EndpointSlice and Ready", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-vip"}, &corev1.Service{})
		slices := f.slicesOf(ctx, "web-vip")
		return err == nil && slices == 1 && condition(ts, "ClusterServiceReady") == "True/Created" && condition(ts, "Ready") == "True/Serving",
			fmt.Sprintf("Service: %v, %d slices, %s, %s", err, slices, condition(ts, "ClusterServiceReady"), condition(ts, "Ready"))
	})

	turn := func(t *testing.T, name string, on bool) {
		t.Helper()
		if err := kubetest.Update(t.Context(), f.env.Client, client.ObjectKey{Namespace: ns, Name: name}, func(ts *gatewayv1alpha1.TailscaleServices) {
			ts.Spec.ClusterService = &gatewayv1alpha1.ClusterServiceSpec{Enabled: ptr.To(on)}
		}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("turned off, ours goes", func(t *testing.T) {
		turn(t, "web", false)
		eventually(t, "no Service, no EndpointSlice, no pod listener; Disabled; the VIP service as it was", func(ctx context.Context) (bool, string) {
			ts := f.get(ctx, "web")
			err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-vip"}, &corev1.Service{})
			slices := f.slicesOf(ctx, "web-vip")
			cfg := f.proxyConfig(ctx, "web-east")
			if cfg == nil {
				return false, "no config"
			}
			return apierrors.IsNotFound(err) && slices == 0 && podPort(cfg, "svc:web:80") == 0 && hostsVIP(cfg, "svc:web") &&
					condition(ts, "ClusterServiceReady") == "False/Disabled" && ts.Status.ClusterServiceName == "" &&
					condition(ts, "VIPServiceReady") == "True/Registered" && condition(ts, "Ready") == "True/Serving",
				fmt.Sprintf("Service: %v, %d slices, pod port %d, hosts %t, %s, %q, %s, %s", err, slices, podPort(cfg, "svc:web:80"),
					hostsVIP(cfg, "svc:web"), condition(ts, "ClusterServiceReady"), ts.Status.ClusterServiceName,
					condition(ts, "VIPServiceReady"), condition(ts, "Ready"))
		})
		if _, err := f.api.GetVIPService(t.Context(), "svc:web"); err != nil {
			t.Errorf("the VIP service: %v", err)
		}
	})

	t.Run("turned off, a Service of that name that is not ours stays", func(t *testing.T) {
		theirs := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taken-vip", Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
		f.create(t, theirs)
		ts := f.service(t, "taken", "svc:taken")
		turn(t, ts.Name, false)
		eventually(t, "ClusterServiceReady False/Disabled", func(ctx context.Context) (bool, string) {
			c := condition(f.get(ctx, "taken"), "ClusterServiceReady")
			return c == "False/Disabled", c
		})
		got := &corev1.Service{}
		if err := f.env.Client.Get(t.Context(), client.ObjectKeyFromObject(theirs), got); err != nil {
			t.Fatalf("their Service: %v", err)
		}
		if len(got.Spec.Ports) != 1 || got.Spec.Ports[0].Name != "http" || len(got.OwnerReferences) != 0 {
			t.Errorf("their Service was changed: %+v %+v", got.Spec.Ports, got.OwnerReferences)
		}
		if n := f.slicesOf(t.Context(), "taken-vip"); n != 0 {
			t.Errorf("%d EndpointSlices add the pools' pods to their Service", n)
		}
	})

	t.Run("turned on again, ours comes back", func(t *testing.T) {
		turn(t, "web", true)
		eventually(t, "Service web-vip and its EndpointSlice again", func(ctx context.Context) (bool, string) {
			err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-vip"}, &corev1.Service{})
			slices := f.slicesOf(ctx, "web-vip")
			c := condition(f.get(ctx, "web"), "ClusterServiceReady")
			return err == nil && slices == 1 && c == "True/Created", fmt.Sprintf("Service: %v, %d slices, %s", err, slices, c)
		})
	})
}

// slicesOf counts the EndpointSlices of a Service.
func (f *fixture) slicesOf(ctx context.Context, service string) int {
	list := &discoveryv1.EndpointSliceList{}
	if err := f.env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: service}); err != nil {
		return -1
	}
	return len(list.Items)
}
