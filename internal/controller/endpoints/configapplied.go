package endpoints

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// configAppliedCondition compares the configuration version the pool's
// ConfigMap holds (desired; "" before it is written) with the versions its
// machines report running or refusing. A machine that refuses a version
// keeps serving the one it ran, so a refusal is otherwise invisible.
func configAppliedCondition(ep *gatewayv1alpha1.TailscaleEndpoints, replicas map[int]*replica, desired string) metav1.Condition {
	c := metav1.Condition{Type: gatewayv1alpha1.ConditionConfigApplied, Status: metav1.ConditionUnknown,
		Reason: gatewayv1alpha1.ReasonApplying, ObservedGeneration: ep.Generation}
	if desired == "" {
		c.Message = "the pool's configuration is not written yet"
		return c
	}
	var behind, refused []string
	reporting := 0
	for _, ordinal := range sortedOrdinals(replicas) {
		rep := replicas[ordinal]
		st, ok := rep.report()
		if !ok || ordinal >= int(desiredReplicas(ep)) {
			continue
		}
		reporting++
		switch {
		case st.ConfigRefused != nil && st.ConfigRefused.Generation == desired:
			refused = append(refused, fmt.Sprintf("machine %s refused it and keeps running version %s: %s",
				rep.pod, orNone(st.ConfigGeneration), st.ConfigRefused.Error))
		case st.ConfigGeneration != desired:
			behind = append(behind, fmt.Sprintf("%s runs %s", rep.pod, orNone(st.ConfigGeneration)))
		}
	}
	switch {
	case len(refused) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, gatewayv1alpha1.ReasonConfigRefused
		c.Message = fmt.Sprintf("configuration version %s: %s", desired, strings.Join(refused, "; "))
	case reporting == 0:
		c.Message = fmt.Sprintf("no machine has reported running configuration version %s yet", desired)
	case len(behind) > 0:
		c.Message = fmt.Sprintf("configuration version %s is being applied: %s", desired, strings.Join(behind, ", "))
	default:
		c.Status, c.Reason = metav1.ConditionTrue, gatewayv1alpha1.ReasonApplied
		c.Message = fmt.Sprintf("%d machine(s) run configuration version %s", reporting, desired)
	}
	c.Message = gatewayv1alpha1.BoundedMessage(c.Message)
	return c
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
