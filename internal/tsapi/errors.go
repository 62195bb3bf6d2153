package tsapi

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"golang.org/x/oauth2"
	tailscale "tailscale.com/client/tailscale/v2"
)

// ErrDomainUnknown means the MagicDNS domain cannot be learned yet because
// the tailnet has no device whose name carries it.
var ErrDomainUnknown = errors.New("tsapi: MagicDNS domain unknown: tailnet has no devices yet")

// APIError is a failed Tailscale API call. It never carries credentials:
// Message is the server's error text, Op names the call.
type APIError struct {
	Op      string
	Status  int
	Message string
	// OutcomeUnknown is set when a non-idempotent call (POST) failed with a
	// 5xx: the server may or may not have applied it, so it was not retried.
	OutcomeUnknown bool
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("tailscale API: %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.OutcomeUnknown {
		msg += " (outcome unknown: the request may have been applied; not retried)"
	}
	return msg
}

func hasStatus(err error, statuses ...int) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, s := range statuses {
		if apiErr.Status == s {
			return true
		}
	}
	return false
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports a 409 or a 412: the object changed under the caller.
func IsConflict(err error) bool {
	return hasStatus(err, http.StatusConflict, http.StatusPreconditionFailed)
}

// IsPreconditionFailed reports a 412: an If-Match ETag was stale.
func IsPreconditionFailed(err error) bool { return hasStatus(err, http.StatusPreconditionFailed) }

// IsRateLimited reports a 429 that outlasted the retries or the context.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsUnauthorized reports rejected credentials (401, or 403 for missing scopes).
func IsUnauthorized(err error) bool {
	return hasStatus(err, http.StatusUnauthorized, http.StatusForbidden)
}

// IsOutcomeUnknown reports a write that failed in a way that leaves its effect unknown.
func IsOutcomeUnknown(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.OutcomeUnknown
}

// wrapErr turns what the v2 client and oauth2 return into *APIError where
// the server answered, and names the call otherwise. It keeps URLs (which
// hold no credentials) but never request bodies.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ours *APIError
	if errors.As(err, &ours) {
		ours.Op = op
		return ours
	}
	var v2Err tailscale.APIError
	if errors.As(err, &v2Err) {
		return &APIError{Op: op, Status: v2Err.Status, Message: bounded(v2Err.Message)}
	}
	var tokenErr *oauth2.RetrieveError
	if errors.As(err, &tokenErr) && tokenErr.Response != nil {
		return &APIError{Op: op + " (fetching OAuth token)", Status: tokenErr.Response.StatusCode, Message: bounded(tokenMessage(tokenErr))}
	}
	return fmt.Errorf("tailscale API: %s: %w", op, err)
}

// maxServerMessage bounds the server's error text an error carries: it ends
// up in conditions and Events, which have size limits, and a misbehaving
// server (or a proxy's error page) can answer with megabytes.
const maxServerMessage = 512

func bounded(msg string) string {
	if len(msg) <= maxServerMessage {
		return msg
	}
	cut := maxServerMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + fmt.Sprintf("… (%d bytes cut)", len(msg)-cut)
}

func tokenMessage(e *oauth2.RetrieveError) string {
	if e.ErrorDescription != "" {
		return e.ErrorDescription
	}
	return e.ErrorCode
}

// writeErr is wrapErr for a write that is not retried after a 5xx: the
// server may have applied it.
func writeErr(op string, err error) error {
	err = wrapErr(op, err)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status >= 500 {
		apiErr.OutcomeUnknown = true
	}
	return err
}
