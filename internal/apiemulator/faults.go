package apiemulator

import (
	"fmt"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// statusClientClosed is logged when the client gave up during added latency.
const statusClientClosed = 499

// FaultRule is a fault in force and the pattern it matches.
type FaultRule struct {
	Pattern string `json:"pattern"`
	Fault   Fault  `json:"fault"`
	method  string
	glob    string
	fired   int
}

// SetFault switches on a fault for requests matching pattern, replacing any
// fault with the same pattern. A pattern is "[METHOD ]PATH" where PATH is a
// path.Match glob ("*" does not cross "/"), e.g.
// "GET /api/v2/tailnet/*/vip-services/*" or "/api/v2/oauth/token".
// The first matching fault, in the order they were set, applies.
func (s *Server) SetFault(pattern string, f Fault) error {
	rule, err := parseFaultRule(pattern, f)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		if s.faults[i].Pattern == pattern {
			s.faults[i] = rule
			return nil
		}
	}
	s.faults = append(s.faults, rule)
	return nil
}

// ClearFaults switches every fault off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the faults in force.
func (s *Server) Faults() []FaultRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FaultRule(nil), s.faults...)
}

func parseFaultRule(pattern string, f Fault) (FaultRule, error) {
	method, glob := "", pattern
	if m, p, ok := strings.Cut(pattern, " "); ok {
		method, glob = strings.ToUpper(m), strings.TrimSpace(p)
	}
	if !strings.HasPrefix(glob, "/") {
		return FaultRule{}, fmt.Errorf("fault pattern %q: path must start with /", pattern)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return FaultRule{}, fmt.Errorf("fault pattern %q: %w", pattern, err)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return FaultRule{}, fmt.Errorf("fault pattern %q: status %d is not an error status", pattern, f.Status)
	}
	if f.Probability < 0 || f.Probability > 1 {
		return FaultRule{}, fmt.Errorf("fault pattern %q: probability %v not in [0,1]", pattern, f.Probability)
	}
	return FaultRule{Pattern: pattern, Fault: f, method: method, glob: glob}, nil
}

func (r *FaultRule) matches(req *http.Request) bool {
	if r.method != "" && r.method != "*" && r.method != req.Method {
		return false
	}
	ok, _ := path.Match(r.glob, req.URL.Path)
	return ok
}

// pickFault returns the fault to apply to req, if any, and counts it.
func (s *Server) pickFault(req *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		rule := &s.faults[i]
		if !rule.matches(req) {
			continue
		}
		if rule.Fault.Times > 0 && rule.fired >= rule.Fault.Times {
			continue
		}
		if p := rule.Fault.Probability; p > 0 && s.rng.Float64() >= p {
			return Fault{}, false
		}
		rule.fired++
		return rule.Fault, true
	}
	return Fault{}, false
}

// applyFault delays and/or fails req as a matching fault says. It reports
// whether it answered the request itself.
func (s *Server) applyFault(w *statusRecorder, req *http.Request) bool {
	f, ok := s.pickFault(req)
	if !ok {
		return false
	}
	if f.Latency > 0 && !sleepCtx(req, f.Latency) {
		w.status = statusClientClosed
		return true
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter > 0 {
		secs := int(math.Ceil(f.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeError(w, f.Status, faultMessage(f.Status))
	return true
}

func faultMessage(status int) string {
	if status == http.StatusTooManyRequests {
		return "rate limit exceeded"
	}
	return strings.ToLower(http.StatusText(status))
}

// sleepCtx waits d unless the client goes away first; it reports whether
// the full delay passed.
func sleepCtx(req *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-req.Context().Done():
		return false
	}
}
