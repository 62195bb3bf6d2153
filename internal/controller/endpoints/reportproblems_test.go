package endpoints

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// A machine's state Secret is its own to write: a report the operator
// cannot read, or one naming another device than the machine's, is
// ignored, and the Available condition says so, briefly.
func TestAvailableNamesReportProblems(t *testing.T) {
	state := func(pod string, raw string) corev1.Secret {
		return corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pool.StateSecretName(pod)}, Data: map[string][]byte{pool.StatusKey: []byte(raw)}}
	}
	recorded := func(pod, device string) corev1.Secret {
		return corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pool.AuthKeySecretName(pod)}, Data: map[string][]byte{pool.DeviceIDKey: []byte(device)}}
	}
	for name, tc := range map[string]struct {
		secrets []corev1.Secret
		want    []string
	}{
		"invalid JSON": {[]corev1.Secret{state("web-0", "{not json")}, []string{"web-0-state", pool.StatusKey, "not a report"}},
		"huge": {[]corev1.Secret{state("web-0", `{"fqdn": "`+strings.Repeat("a", 1<<20)+`"}`)},
			[]string{"machine web-0", "more than"}},
		"oversized field": {[]corev1.Secret{state("web-0", `{"fqdn": "`+strings.Repeat("a", 300)+`", "ready": true}`)},
			[]string{"fqdn: 300 bytes"}},
		"another device": {[]corev1.Secret{state("web-0", `{"deviceID": "foreign", "ready": true}`), recorded("web-0", "n0")},
			[]string{"reports device foreign, not its own device n0"}},
		"one line per machine": {[]corev1.Secret{state("web-0", "[]"), state("web-1", "7")},
			[]string{"machine web-0", "machine web-1"}},
	} {
		t.Run(name, func(t *testing.T) {
			st := desiredStatus(samplePool(2), observation{replicas: replicasFromSecrets(samplePool(2), tc.secrets)})
			c := meta.FindStatusCondition(st.Conditions, gatewayv1alpha1.ConditionAvailable)
			if c == nil || len(c.Message) > gatewayv1alpha1.MaxMessage {
				t.Fatalf("Available = %+v", c)
			}
			for _, want := range tc.want {
				if !strings.Contains(c.Message, want) {
					t.Errorf("Available says %q, lacks %q", c.Message, want)
				}
			}
			for _, m := range st.Machines {
				if name == "another device" {
					break // the report stands; only its device is not believed
				}
				if m.Ready || m.FQDN != "" {
					t.Errorf("machine %+v taken from an ignored report", m)
				}
			}
		})
	}
}
