package endpoints

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

func stateWith(t *testing.T, pod string, st pool.MachineStatus) corev1.Secret {
	t.Helper()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pool.StateSecretName(pod)}, Data: map[string][]byte{pool.StatusKey: raw}}
}

func TestReplicasFromSecrets(t *testing.T) {
	ep := samplePool(2)
	secrets := []corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "web-0-authkey"}, Data: map[string][]byte{pool.AuthKeyIDKey: []byte("k1")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-0-state"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-12-state"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web-01-state"}},     // not a pod of the pool
		{ObjectMeta: metav1.ObjectMeta{Name: "web-extra-state"}},  // not a pod of the pool
		{ObjectMeta: metav1.ObjectMeta{Name: "web-proxy"}},        // not a replica's
		{ObjectMeta: metav1.ObjectMeta{Name: "web-0-authkey-x"}},  // not a replica's
		{ObjectMeta: metav1.ObjectMeta{Name: "webapp-0-authkey"}}, // another pool
	}
	got := replicasFromSecrets(ep, secrets)
	if len(got) != 2 || got[0].authKeyID() != "k1" || got[0].state == nil || got[12].state == nil || got[12].pod != "web-12" {
		t.Errorf("replicas = %+v", got)
	}
}

func TestHasDevice(t *testing.T) {
	withID := stateWith(t, "web-0", pool.MachineStatus{DeviceID: "n1"})
	loggedIn := corev1.Secret{Data: map[string][]byte{currentProfileKey: []byte("profile-1")}}
	garbage := corev1.Secret{Data: map[string][]byte{pool.StatusKey: []byte("{not json")}}
	for name, tc := range map[string]struct {
		rep  *replica
		want bool
	}{
		"reported device":      {&replica{state: &withID}, true},
		"logged in, no report": {&replica{state: &loggedIn}, true},
		"unreadable report":    {&replica{state: &garbage}, false},
		"empty state":          {&replica{state: &corev1.Secret{}}, false},
		"no state":             {&replica{}, false},
		"no replica":           {nil, false},
	} {
		if got := tc.rep.hasDevice(); got != tc.want {
			t.Errorf("%s: hasDevice = %v, want %v", name, got, tc.want)
		}
	}
}

func TestDesiredStatus(t *testing.T) {
	ep := samplePool(3)
	ep.Generation = 4
	seen := time.Date(2026, 5, 1, 12, 30, 45, 123, time.UTC)
	s0 := stateWith(t, "web-0", pool.MachineStatus{DeviceID: "n0", Hostname: "web-0-prod-a", FQDN: "web-0-prod-a.tail1234.ts.net", TailnetIPs: []string{"100.64.0.1"}, Ready: true, Updated: seen})
	k0 := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-0-authkey"}, Data: map[string][]byte{pool.HostnameKey: []byte("web-0-prod-a"), pool.DeviceIDKey: []byte("n0")}}
	// web-1's report names a device the operator has not found for it:
	// the status does not take the machine's word for it.
	s1 := stateWith(t, "web-1", pool.MachineStatus{DeviceID: "n1", Hostname: "web-1-prod-a", Ready: false, Updated: seen})
	k1 := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-1-authkey"}, Data: map[string][]byte{pool.HostnameKey: []byte("web-1-prod-a")}}
	obs := observation{replicas: replicasFromSecrets(ep, []corev1.Secret{s0, k0, s1, k1})}

	st := desiredStatus(ep, obs)
	want := []gatewayv1alpha1.Machine{
		{Name: "web-0", Hostname: "web-0-prod-a", FQDN: "web-0-prod-a.tail1234.ts.net", TailnetIPs: []string{"100.64.0.1"}, DeviceID: "n0", Ready: true, LastSeen: &metav1.Time{Time: time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)}},
		{Name: "web-1", Hostname: "web-1-prod-a", LastSeen: &metav1.Time{Time: time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)}},
		{Name: "web-2"},
	}
	if diff := cmp.Diff(want, st.Machines); diff != "" {
		t.Errorf("machines (-want +got):\n%s", diff)
	}
	if st.ReadyReplicas != 1 || st.ObservedGeneration != 4 {
		t.Errorf("readyReplicas %d, observedGeneration %d", st.ReadyReplicas, st.ObservedGeneration)
	}
	assertCondition(t, st, gatewayv1alpha1.ConditionReady, metav1.ConditionTrue, gatewayv1alpha1.ReasonPoolReady)
	assertCondition(t, st, gatewayv1alpha1.ConditionAvailable, metav1.ConditionTrue, gatewayv1alpha1.ReasonMachinesReady)

	// Nothing accumulates: fewer replicas, fewer machines.
	ep.Spec.Proxy.Replicas = new(int32)
	ep.Status = st
	if st := desiredStatus(ep, obs); len(st.Machines) != 0 || st.ReadyReplicas != 0 {
		t.Errorf("after scaling to 0: %+v", st)
	}
}

func TestReadyConditionReasons(t *testing.T) {
	ep := samplePool(1)
	for _, tc := range []struct {
		obs  observation
		want string
	}{
		{observation{tailnetErr: fmt.Errorf("%w: gone", tailnet.ErrTailnetNotFound)}, "TailnetNotFound"},
		// The tailnet's access refuses the pool: said first, as its
		// credentials are not the pool owner's to fix.
		{observation{refusal: &tenancy.Refusal{Reason: gatewayv1alpha1.ReasonTagNotAllowed, Message: "m"},
			tailnetErr: fmt.Errorf("%w: no secret", tailnet.ErrSecretMissing)}, gatewayv1alpha1.ReasonTagNotAllowed},
		{observation{tailnetErr: fmt.Errorf("%w: no secret", tailnet.ErrSecretMissing)}, "SecretMissing"},
		{observation{tailnetErr: fmt.Errorf("%w: no key", tailnet.ErrKeyMissing)}, "SecretKeyMissing"},
		{observation{tailnetErr: fmt.Errorf("boom")}, gatewayv1alpha1.ReasonTailnetNotReady},
		{observation{applyErr: fmt.Errorf("boom"), backend: &backend.Problem{Reason: gatewayv1alpha1.ReasonServiceNotFound}}, gatewayv1alpha1.ReasonApplyFailed},
		{observation{authKeyErr: fmt.Errorf("boom")}, gatewayv1alpha1.ReasonAuthKeyFailed},
		{observation{recordErr: fmt.Errorf("boom")}, gatewayv1alpha1.ReasonAPIError},
		{observation{backend: &backend.Problem{Reason: gatewayv1alpha1.ReasonNoReadyEndpoints, Message: "m"}}, gatewayv1alpha1.ReasonNoReadyEndpoints},
	} {
		st := desiredStatus(ep, tc.obs)
		assertCondition(t, st, gatewayv1alpha1.ConditionReady, metav1.ConditionFalse, tc.want)
		assertCondition(t, st, gatewayv1alpha1.ConditionAvailable, metav1.ConditionFalse, gatewayv1alpha1.ReasonNoMachineReady)
	}
}

func assertCondition(t *testing.T, st gatewayv1alpha1.TailscaleEndpointsStatus, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	c := meta.FindStatusCondition(st.Conditions, typ)
	if c == nil || c.Status != status || c.Reason != reason {
		t.Errorf("condition %s = %+v, want %s/%s", typ, c, status, reason)
	}
}
