package endpoints

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

func TestConfigAppliedCondition(t *testing.T) {
	ep := samplePool(2)
	machine := func(t *testing.T, pod string, st pool.MachineStatus) corev1.Secret { return stateWith(t, pod, st) }
	refused := &pool.ConfigRefusal{Generation: "12", Error: `service svc:db: caBundle: no PEM certificate`}
	for _, tc := range []struct {
		name      string
		desired   string
		secrets   []corev1.Secret
		status    metav1.ConditionStatus
		reason    string
		inMessage string
	}{
		{"no ConfigMap yet", "", nil, metav1.ConditionUnknown, "Applying", "not written yet"},
		{"no report yet", "12", nil, metav1.ConditionUnknown, "Applying", "no machine has reported"},
		{"all run it", "12", []corev1.Secret{
			machine(t, "web-0", pool.MachineStatus{ConfigGeneration: "12"}),
			machine(t, "web-1", pool.MachineStatus{ConfigGeneration: "12"}),
		}, metav1.ConditionTrue, "Applied", "2 machine(s) run configuration version 12"},
		{"one behind", "12", []corev1.Secret{
			machine(t, "web-0", pool.MachineStatus{ConfigGeneration: "12"}),
			machine(t, "web-1", pool.MachineStatus{ConfigGeneration: "11"}),
		}, metav1.ConditionUnknown, "Applying", "web-1 runs 11"},
		{"one refused", "12", []corev1.Secret{
			machine(t, "web-0", pool.MachineStatus{ConfigGeneration: "12"}),
			machine(t, "web-1", pool.MachineStatus{ConfigGeneration: "11", ConfigRefused: refused}),
		}, metav1.ConditionFalse, "ConfigRefused", "machine web-1 refused it and keeps running version 11: service svc:db: caBundle"},
		{"an older refusal, since replaced", "13", []corev1.Secret{
			machine(t, "web-0", pool.MachineStatus{ConfigGeneration: "13"}),
			machine(t, "web-1", pool.MachineStatus{ConfigGeneration: "11", ConfigRefused: refused}),
		}, metav1.ConditionUnknown, "Applying", "web-1 runs 11"},
		{"a removed replica does not count", "12", []corev1.Secret{
			machine(t, "web-0", pool.MachineStatus{ConfigGeneration: "12"}),
			machine(t, "web-5", pool.MachineStatus{ConfigGeneration: "3"}),
		}, metav1.ConditionTrue, "Applied", "1 machine(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := configAppliedCondition(ep, replicasFromSecrets(ep, tc.secrets), tc.desired)
			if c.Status != tc.status || c.Reason != tc.reason || !strings.Contains(c.Message, tc.inMessage) {
				t.Errorf("condition %s/%s %q; want %s/%s containing %q", c.Status, c.Reason, c.Message, tc.status, tc.reason, tc.inMessage)
			}
		})
	}
}
