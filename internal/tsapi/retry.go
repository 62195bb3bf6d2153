package tsapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryTransport retries requests the server did not process (429) or
// that are safe to repeat (idempotent methods after 5xx or a network
// error), honouring Retry-After, within the request's context.
type retryTransport struct {
	base   http.RoundTripper
	policy RetryPolicy
	now    func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		wait, retry := t.shouldRetry(req, resp, err, attempt)
		if !retry {
			return normalizeErrorBody(req, resp), err
		}
		discard(resp)
		if err := t.policy.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// shouldRetry decides whether to try again and after how long. It never
// plans a wait that would outlast the request's deadline.
func (t *retryTransport) shouldRetry(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= t.policy.MaxAttempts || req.Context().Err() != nil {
		return 0, false
	}
	var wait time.Duration
	switch {
	case err != nil:
		if !repeatable(req) {
			return 0, false
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		wait = retryAfter(resp, t.now())
	case resp.StatusCode >= 500 && repeatable(req):
		wait = retryAfter(resp, t.now())
	default:
		return 0, false
	}
	if wait <= 0 {
		wait = t.backoff(attempt)
	}
	if deadline, ok := req.Context().Deadline(); ok && t.now().Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

// repeatable reports whether sending req twice does no more than sending
// it once. The token endpoint only mints another short-lived token.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return strings.HasSuffix(req.URL.Path, tokenPath)
}

// backoff is exponential with jitter in [d/2, d], so clients that failed
// together do not retry together.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.policy.BaseDelay << (attempt - 1)
	if d <= 0 || d > t.policy.MaxDelay {
		d = t.policy.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 if absent.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

func discard(resp *http.Response) {
	if resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
}

// rewind returns a copy of req with a fresh body for the next attempt.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errNotRewindable
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	next := req.Clone(req.Context())
	next.Body = body
	return next, nil
}

// normalizeErrorBody turns a non-JSON error body (say, a proxy's HTML 502)
// into the API's {"message": ...} shape, which the v2 client requires to
// report the status at all.
func normalizeErrorBody(req *http.Request, resp *http.Response) *http.Response {
	if resp == nil || resp.StatusCode < 400 || strings.HasSuffix(req.URL.Path, tokenPath) {
		return resp
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if !json.Valid(body) {
		msg := strings.TrimSpace(string(body))
		if msg == "" || len(msg) > 200 || strings.HasPrefix(msg, "<") {
			msg = http.StatusText(resp.StatusCode)
		}
		body, _ = json.Marshal(map[string]string{"message": msg})
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp
}
