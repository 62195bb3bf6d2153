package apiemulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	defaultKeyExpiry = 90 * 24 * time.Hour
	maxKeyExpiry     = 90 * 24 * time.Hour
)

type authKey struct {
	id, secret, description string
	created, expires        time.Time
	revoked                 time.Time
	caps                    keyCapabilities
	used                    bool
}

func (k *authKey) info() AuthKeyInfo {
	c := k.caps.Devices.Create
	return AuthKeyInfo{
		ID: k.id, Tags: slices.Clone(c.Tags), Reusable: c.Reusable, Ephemeral: c.Ephemeral,
		Preauthorized: c.Preauthorized, Used: k.used, Revoked: !k.revoked.IsZero(),
		Created: k.created, Expires: k.expires,
	}
}

type keyCapabilities struct {
	Devices struct {
		Create struct {
			Reusable      bool     `json:"reusable"`
			Ephemeral     bool     `json:"ephemeral"`
			Preauthorized bool     `json:"preauthorized"`
			Tags          []string `json:"tags"`
		} `json:"create"`
	} `json:"devices"`
}

type createKeyRequest struct {
	KeyType       string          `json:"keyType"`
	Capabilities  keyCapabilities `json:"capabilities"`
	ExpirySeconds int64           `json:"expirySeconds"`
	Description   string          `json:"description"`
}

// keyJSON is a key as the API shows it; Key is only present on creation.
type keyJSON struct {
	ID           string          `json:"id"`
	KeyType      string          `json:"keyType"`
	Key          string          `json:"key,omitempty"`
	Description  string          `json:"description"`
	Created      time.Time       `json:"created"`
	Expires      time.Time       `json:"expires"`
	Revoked      time.Time       `json:"revoked,omitzero"`
	Invalid      bool            `json:"invalid"`
	Capabilities keyCapabilities `json:"capabilities"`
}

func (s *Server) keyJSONLocked(k *authKey, withSecret bool) keyJSON {
	out := keyJSON{
		ID: k.id, KeyType: "auth", Description: k.description,
		Created: k.created, Expires: k.expires, Revoked: k.revoked,
		Invalid: !k.info().Valid(s.now()), Capabilities: k.caps,
	}
	if withSecret {
		out.Key = k.secret
	}
	return out
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req createKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if err := validateKeyRequest(req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	k := s.newKeyLocked(req)
	out := s.keyJSONLocked(k, true)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func validateKeyRequest(req createKeyRequest) error {
	if req.KeyType != "" && req.KeyType != "auth" {
		return fmt.Errorf("keyType %q is not supported by the emulator", req.KeyType)
	}
	if req.ExpirySeconds < 0 || time.Duration(req.ExpirySeconds)*time.Second > maxKeyExpiry {
		return fmt.Errorf("expirySeconds must be between 0 and %d", int(maxKeyExpiry.Seconds()))
	}
	tags := req.Capabilities.Devices.Create.Tags
	if len(tags) == 0 {
		return fmt.Errorf("tags are required when creating an auth key with an OAuth client")
	}
	return validateTags(tags)
}

func (s *Server) newKeyLocked(req createKeyRequest) *authKey {
	expiry := defaultKeyExpiry
	if req.ExpirySeconds > 0 {
		expiry = time.Duration(req.ExpirySeconds) * time.Second
	}
	id, now := s.newIDLocked("k"), s.now().UTC()
	k := &authKey{
		id:          id,
		secret:      "tskey-auth-" + id + "-" + strings.ToLower(rand.Text()),
		description: req.Description,
		created:     now,
		expires:     now.Add(expiry),
		caps:        req.Capabilities,
	}
	s.keys[id] = k
	return k
}

type keyList struct {
	Keys []keyJSON `json:"keys"`
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := keyList{Keys: []keyJSON{}}
	for _, k := range s.keys {
		if k.revoked.IsZero() {
			out.Keys = append(out.Keys, s.keyJSONLocked(k, false))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out.Keys, func(a, b keyJSON) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	k, ok := s.keys[r.PathValue("id")]
	var out keyJSON
	if ok {
		out = s.keyJSONLocked(k, false)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "key not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	k, ok := s.keys[r.PathValue("id")]
	live := ok && k.revoked.IsZero()
	if live {
		k.revoked = s.now().UTC()
	}
	s.mu.Unlock()
	if !live {
		writeError(w, http.StatusNotFound, "key not found")
		return
	}
	w.WriteHeader(http.StatusOK)
}
