package apiemulator

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const tokenLifetime = time.Hour

// tokenResponse is the OAuth 2.0 client-credentials token response.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// oauthError is the RFC 6749 §5.2 error body the token endpoint answers with.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// handleToken implements POST /api/v2/oauth/token (client_credentials,
// credentials form-encoded or in HTTP Basic auth).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "malformed form body"})
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "unsupported_grant_type"})
		return
	}
	id, secret := clientCredentials(r)
	if !s.validClient(id, secret) {
		writeJSON(w, http.StatusUnauthorized, oauthError{Error: "invalid_client", Description: "invalid client credentials"})
		return
	}
	token := "tskey-api-" + rand.Text()
	s.mu.Lock()
	s.tokens[token] = s.now().Add(tokenLifetime)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int(tokenLifetime.Seconds()),
		Scope:       scopeOf(r),
	})
}

func clientCredentials(r *http.Request) (id, secret string) {
	if id, secret, ok := r.BasicAuth(); ok {
		return id, secret
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

func scopeOf(r *http.Request) string {
	if scope := r.PostForm.Get("scope"); scope != "" {
		return scope
	}
	return "all"
}

func (s *Server) validClient(id, secret string) bool {
	if s.opts.ClientID == "" || id == "" {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) == 1
	return idOK && secretOK
}

// validToken accepts an access token as a Bearer token or, like the real
// API, as the user name of HTTP Basic auth.
func (s *Server) validToken(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token, _, _ = r.BasicAuth()
	}
	if token == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	expiry, ok := s.tokens[token]
	return ok && s.now().Before(expiry)
}

// handleAuthed registers a handler for a /tailnet/{tailnet}/ path: it needs
// a valid token and a tailnet this emulator serves.
func (s *Server) handleAuthed(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.handleAuthedGlobal(mux, pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.knownTailnet(r.PathValue("tailnet")) {
			writeError(w, http.StatusNotFound, "tailnet not found")
			return
		}
		h(w, r)
	})
}

// handleAuthedGlobal registers a handler that needs a valid token.
func (s *Server) handleAuthedGlobal(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.validToken(r) {
			writeError(w, http.StatusUnauthorized, "API token invalid")
			return
		}
		h(w, r)
	})
}

func (s *Server) knownTailnet(name string) bool {
	return name == "-" || (s.opts.TailnetDomain != "" && strings.EqualFold(name, s.opts.TailnetDomain))
}

// newIDLocked returns the next identifier with the given prefix, shaped
// like the API's ("k000001CNTRL"); sequential so test output is stable.
func (s *Server) newIDLocked(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%06dCNTRL", prefix, s.nextID)
}
