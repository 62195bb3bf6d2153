package endpoints

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

// lastSeenResolution bounds how often a machine's periodic reports can
// change the pool's status: a report within the same minute writes nothing.
const lastSeenResolution = time.Minute

// observation is everything a reconcile learned, from which the status
// follows without further reads.
type observation struct {
	replicas   map[int]*replica
	tailnetErr error
	// refusal: the tailnet's access rules refuse the pool (admission).
	refusal    *tenancy.Refusal
	applyErr   error
	authKeyErr error
	// recordErr: a joined machine's device could not be looked up.
	recordErr error
	// configVersion is the resourceVersion of the pool's ConfigMap, ""
	// before it exists.
	configVersion string
	backend       *backend.Problem
}

// desiredStatus computes the pool's status from scratch. Only the
// conditions' transition times carry over from old.
func desiredStatus(ep *gatewayv1alpha1.TailscaleEndpoints, obs observation) gatewayv1alpha1.TailscaleEndpointsStatus {
	st := gatewayv1alpha1.TailscaleEndpointsStatus{ObservedGeneration: ep.Generation}
	for i, pod := range podNames(ep) {
		m := machineOf(pod, obs.replicas[i])
		if m.Ready {
			st.ReadyReplicas++
		}
		st.Machines = append(st.Machines, m)
	}
	st.Conditions = append([]metav1.Condition(nil), ep.Status.Conditions...)
	meta.SetStatusCondition(&st.Conditions, readyCondition(ep, obs))
	meta.SetStatusCondition(&st.Conditions, availableCondition(ep, st.ReadyReplicas, reportProblems(ep, obs.replicas)))
	meta.SetStatusCondition(&st.Conditions, configAppliedCondition(ep, obs.replicas, obs.configVersion))
	return st
}

func machineOf(pod string, r *replica) gatewayv1alpha1.Machine {
	// Name and device as the operator decided and found them; the rest as
	// the machine reports it.
	m := gatewayv1alpha1.Machine{Name: pod, Hostname: r.hostname(), DeviceID: r.recordedDevice()}
	rep, ok := r.report()
	if !ok {
		return m
	}
	m.FQDN, m.Ready = rep.FQDN, rep.Ready
	m.TailnetIPs = rep.TailnetIPs
	if !rep.Updated.IsZero() {
		m.LastSeen = &metav1.Time{Time: rep.Updated.UTC().Truncate(lastSeenResolution)}
	}
	return m
}

// readyCondition: the first problem in the order a user has to fix them.
func readyCondition(ep *gatewayv1alpha1.TailscaleEndpoints, obs observation) metav1.Condition {
	c := metav1.Condition{Type: gatewayv1alpha1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: ep.Generation}
	switch {
	case obs.refusal != nil:
		c.Reason, c.Message = refusedCondition(obs.refusal)
	case obs.tailnetErr != nil:
		c.Reason, c.Message = tailnetReason(obs.tailnetErr), obs.tailnetErr.Error()
	case obs.applyErr != nil:
		c.Reason, c.Message = applyReason(obs.applyErr), obs.applyErr.Error()
	case obs.authKeyErr != nil:
		c.Reason, c.Message = gatewayv1alpha1.ReasonAuthKeyFailed, obs.authKeyErr.Error()
	case obs.recordErr != nil:
		c.Reason, c.Message = gatewayv1alpha1.ReasonAPIError, obs.recordErr.Error()
	case obs.backend != nil:
		c.Reason, c.Message = obs.backend.Reason, obs.backend.Message
	default:
		c.Status, c.Reason = metav1.ConditionTrue, gatewayv1alpha1.ReasonPoolReady
		c.Message = fmt.Sprintf("%d machine(s) provisioned", desiredReplicas(ep))
	}
	c.Message = gatewayv1alpha1.BoundedMessage(c.Message)
	return c
}

// applyReason tells an object of the pool's name that is not the pool's
// (the user must act) from a failed write (which a retry may fix).
func applyReason(err error) string {
	if _, taken := errors.AsType[*TakenError](err); taken {
		return gatewayv1alpha1.ReasonConflict
	}
	return gatewayv1alpha1.ReasonApplyFailed
}

// tailnetReason is the typed reason of a tailnet error.
func tailnetReason(err error) string {
	for _, known := range []error{tailnet.ErrTailnetNotFound, tailnet.ErrSecretMissing, tailnet.ErrKeyMissing} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return gatewayv1alpha1.ReasonTailnetNotReady
}

// availableCondition counts the ready machines and says what is wrong
// with the reports of the others.
func availableCondition(ep *gatewayv1alpha1.TailscaleEndpoints, ready int32, problems []string) metav1.Condition {
	c := metav1.Condition{Type: gatewayv1alpha1.ConditionAvailable, ObservedGeneration: ep.Generation}
	msg := fmt.Sprintf("%d of %d machine(s) ready", ready, desiredReplicas(ep))
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	if ready > 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, gatewayv1alpha1.ReasonMachinesReady, msg
	} else {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, gatewayv1alpha1.ReasonNoMachineReady, msg
	}
	c.Message = gatewayv1alpha1.BoundedMessage(c.Message)
	return c
}

// reportProblems are the problems with the reports of the pool's current
// machines, by ordinal.
func reportProblems(ep *gatewayv1alpha1.TailscaleEndpoints, replicas map[int]*replica) []string {
	var out []string
	for _, ordinal := range sortedOrdinals(replicas) {
		if ordinal >= int(desiredReplicas(ep)) {
			continue
		}
		if p := replicas[ordinal].reportProblem(); p != "" {
			out = append(out, p)
		}
	}
	return out
}
