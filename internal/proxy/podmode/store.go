package podmode

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"tailscale.com/ipn"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// secretStore is the node's ipn.StateStore, kept in the pod's state Secret
// beside the status report (pool.StatusKey), which it never touches.
//
// Tailscale's own ipn/store/kubestore is not used: it builds its Kubernetes
// client from the in-cluster credentials at fixed paths
// (/var/run/secrets/kubernetes.io/serviceaccount), so it cannot run with a
// kubeconfig, as the lab runs each pod under its ServiceAccount's
// impersonated identity. Keys are sanitized the same way kubestore does, so
// the Secret's layout is the familiar one.
type secretStore struct {
	secret *stateSecret
	// timeout bounds one write; tsnet calls the store without a context.
	timeout time.Duration

	mu    sync.Mutex
	cache map[string][]byte
}

// newSecretStore loads the Secret's current state keys.
func newSecretStore(ctx context.Context, secret *stateSecret) (*secretStore, error) {
	data, err := secret.read(ctx)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string][]byte{} // a new, empty state Secret
	}
	delete(data, pool.StatusKey)
	return &secretStore{secret: secret, timeout: 30 * time.Second, cache: data}, nil
}

// ReadState implements ipn.StateStore from the cache: this process is the
// Secret's only writer of state keys.
func (s *secretStore) ReadState(id ipn.StateKey) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache[stateKey(id)]
	if !ok {
		return nil, ipn.ErrStateNotExist
	}
	return bytes.Clone(v), nil
}

// WriteState implements ipn.StateStore; nil deletes the key.
func (s *secretStore) WriteState(id ipn.StateKey, bs []byte) error {
	key := stateKey(id)
	if key == pool.StatusKey {
		return fmt.Errorf("state key %q is reserved for the status report", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err := s.secret.mutate(ctx, func(data map[string][]byte) bool {
		old, had := data[key]
		if bs == nil {
			delete(data, key)
			return had
		}
		data[key] = bytes.Clone(bs)
		return !had || !bytes.Equal(old, bs)
	})
	if err != nil {
		return fmt.Errorf("write state %q: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bs == nil {
		delete(s.cache, key)
	} else {
		s.cache[key] = bytes.Clone(bs)
	}
	return nil
}

// stateKey makes a state key a valid Secret data key, as kubestore does.
func stateKey(id ipn.StateKey) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, string(id))
}
