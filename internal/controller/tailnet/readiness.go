package tailnet

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// check is the outcome of checking a tailnet's credentials and API.
type check struct {
	err    error  // nil when the API accepted the credentials
	domain string // MagicDNS domain, when known
}

// readyCondition says, from a check, whether the tailnet is usable and
// precisely why not. It never quotes credentials: the errors it is given
// come from tsapi and tailnet, which keep secrets out of their messages.
func readyCondition(c check, generation int64) metav1.Condition {
	cond := metav1.Condition{Type: gatewayv1alpha1.ConditionReady, ObservedGeneration: generation}
	switch {
	case c.err == nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, gatewayv1alpha1.ReasonVerified
		cond.Message = "the Tailscale API accepted the OAuth client"
		if c.domain != "" {
			cond.Message += "; MagicDNS domain " + c.domain
		}
	case errors.Is(c.err, tailnet.ErrSecretMissing):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, gatewayv1alpha1.ReasonSecretMissing, c.err.Error()
	case errors.Is(c.err, tailnet.ErrKeyMissing):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, gatewayv1alpha1.ReasonSecretKeyMissing, c.err.Error()
	case tsapi.IsUnauthorized(c.err):
		cond.Status, cond.Reason = metav1.ConditionFalse, gatewayv1alpha1.ReasonCredentialsRefused
		cond.Message = fmt.Sprintf("the Tailscale API refused the OAuth client in spec.oauthSecretRef; check client_id and client_secret: %v", c.err)
	case isUnreachable(c.err):
		cond.Status, cond.Reason = metav1.ConditionFalse, gatewayv1alpha1.ReasonAPIUnreachable
		cond.Message = fmt.Sprintf("cannot reach the Tailscale API at spec.apiBaseURL: %v", c.err)
	default:
		cond.Status, cond.Reason = metav1.ConditionFalse, gatewayv1alpha1.ReasonAPIError
		cond.Message = fmt.Sprintf("the Tailscale API answered with an error: %v", c.err)
	}
	cond.Message = gatewayv1alpha1.BoundedMessage(cond.Message)
	return cond
}

// isUnreachable is true for errors that carry no answer from the API.
func isUnreachable(err error) bool {
	var apiErr *tsapi.APIError
	return !errors.As(err, &apiErr)
}
