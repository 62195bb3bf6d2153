package apiemulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/tailscale/hujson"
)

// defaultPolicy is what a new tailnet starts with: everyone may reach everything.
const defaultPolicy = `// Emulated tailnet policy file.
{
	"grants": [
		{"src": ["*"], "dst": ["*"], "ip": ["*"]},
	],
}
`

type policyState struct {
	doc      []byte // as last written, comments and all
	etag     string // unquoted
	services map[string][]string
}

func newPolicyState(doc []byte) policyState {
	if len(doc) == 0 {
		doc = []byte(defaultPolicy)
	}
	p, err := parsePolicy(doc)
	if err != nil {
		panic(fmt.Sprintf("apiemulator: invalid initial policy: %v", err))
	}
	return p
}

// policyFields is the part of the policy the emulator understands.
// encoding/json matches keys case-insensitively, as Tailscale's parser does.
type policyFields struct {
	AutoApprovers struct {
		Services map[string][]string `json:"services"`
	} `json:"autoApprovers"`
}

func parsePolicy(doc []byte) (policyState, error) {
	std, err := hujson.Standardize(slices.Clone(doc))
	if err != nil {
		return policyState{}, fmt.Errorf("parsing policy: %w", err)
	}
	var fields policyFields
	if err := json.Unmarshal(std, &fields); err != nil {
		return policyState{}, fmt.Errorf("parsing policy: %w", err)
	}
	if err := validateServiceApprovers(fields.AutoApprovers.Services); err != nil {
		return policyState{}, err
	}
	sum := sha256.Sum256(doc)
	return policyState{doc: slices.Clone(doc), etag: hex.EncodeToString(sum[:]), services: fields.AutoApprovers.Services}, nil
}

func validateServiceApprovers(services map[string][]string) error {
	for name, approvers := range services {
		if err := validateServiceName(name); err != nil {
			return fmt.Errorf("autoApprovers.services: %w", err)
		}
		for _, a := range approvers {
			if strings.HasPrefix(a, "tag:") {
				if err := validateTags([]string{a}); err != nil {
					return fmt.Errorf("autoApprovers.services[%q]: %w", name, err)
				}
			}
		}
	}
	return nil
}

// getPolicy answers with HuJSON when asked for application/hujson, else
// with the policy standardized to JSON, and the ETag either way.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	doc, etag := s.Policy()
	writePolicy(w, r, doc, etag)
}

func writePolicy(w http.ResponseWriter, r *http.Request, doc []byte, etag string) {
	w.Header().Set("ETag", `"`+etag+`"`)
	if strings.Contains(r.Header.Get("Accept"), "application/hujson") {
		w.Header().Set("Content-Type", "application/hujson")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(doc)
		return
	}
	std, _ := hujson.Standardize(slices.Clone(doc)) // stored policies always parse
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(std)
}

// setPolicy replaces the policy; with If-Match only if it is still at that ETag.
func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	next, err := parsePolicy(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.swapPolicy(r.Header.Get("If-Match"), next) {
		writeError(w, http.StatusPreconditionFailed, "precondition failed, invalid old hash")
		return
	}
	writePolicy(w, r, next.doc, next.etag)
}

func (s *Server) swapPolicy(ifMatch string, next policyState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifMatch != "" && strings.Trim(ifMatch, `"`) != s.policy.etag {
		return false
	}
	changed := next.etag != s.policy.etag
	s.policy = next
	if changed {
		s.notifyLocked()
	}
	return true
}
