package apiemulator

import (
	"net/http"
	"slices"
)

// Requests returns every API request answered since the last reset, in order.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// WriteRequests returns the requests that asked to change state
// (see RequestRecord.IsWrite), so tests can assert a quiet steady state.
func (s *Server) WriteRequests() []RequestRecord {
	var out []RequestRecord
	for _, r := range s.Requests() {
		if r.IsWrite() {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) record(r *http.Request, status int, fault bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, RequestRecord{
		Method: r.Method,
		Path:   r.URL.Path,
		Status: status,
		Time:   s.now(),
		Fault:  fault,
	})
}
