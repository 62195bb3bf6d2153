package tsapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ErrNeedsFreshRead is what a Snapshot's read-only client returns for any
// write: a write must be decided on fresh reads, so the caller starts over
// with the real client.
var ErrNeedsFreshRead = errors.New("a write must be decided on fresh reads")

// Snapshot shares a tailnet's VIP service list and policy between callers
// for up to TTL, so that checking N services that need nothing costs one
// list (and one policy read) per TTL, not N reads.
//
// It is for optimistic passes: ReadOnly(c) reads through the snapshot and
// refuses writes with ErrNeedsFreshRead; the caller then runs again with c
// itself and calls Invalidate after writing. So what a snapshot can be
// stale by (writes of other operators or people within TTL) delays only
// what is noticed, never decides a write. Safe for concurrent use.
type Snapshot struct {
	TTL time.Duration
	Now func() time.Time // nil: time.Now

	mu         sync.Mutex
	services   []VIPService
	servicesAt time.Time
	policy     *Policy
	policyAt   time.Time
}

// Invalidate drops what the snapshot holds; call it after writing.
func (s *Snapshot) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services, s.servicesAt = nil, time.Time{}
	s.policy, s.policyAt = nil, time.Time{}
}

// ReadOnly returns a Client that lists and gets VIP services and reads the
// policy through the snapshot (refreshing it with c when older than TTL),
// passes other reads to c, and refuses every write.
func (s *Snapshot) ReadOnly(c Client) Client { return &snapshotClient{Client: c, s: s} }

func (s *Snapshot) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Snapshot) fresh(at time.Time) bool { return !at.IsZero() && s.now().Sub(at) < s.TTL }

// vipServices returns the snapshot's list, refreshing it if stale. The lock
// is held while listing, so concurrent callers wait for one list.
func (s *Snapshot) vipServices(ctx context.Context, c Client) ([]VIPService, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services != nil && s.fresh(s.servicesAt) {
		return s.services, nil
	}
	all, err := c.ListVIPServices(ctx)
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = []VIPService{}
	}
	s.services, s.servicesAt = all, s.now()
	return all, nil
}

func (s *Snapshot) getPolicy(ctx context.Context, c Client) (Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policy != nil && s.fresh(s.policyAt) {
		p := *s.policy
		p.HuJSON = slices.Clone(p.HuJSON)
		return p, nil
	}
	p, err := c.GetPolicy(ctx)
	if err != nil {
		return Policy{}, err
	}
	kept := p
	kept.HuJSON = slices.Clone(p.HuJSON)
	s.policy, s.policyAt = &kept, s.now()
	return p, nil
}

type snapshotClient struct {
	Client
	s *Snapshot
}

func (c *snapshotClient) ListVIPServices(ctx context.Context) ([]VIPService, error) {
	all, err := c.s.vipServices(ctx, c.Client)
	if err != nil {
		return nil, err
	}
	out := make([]VIPService, len(all))
	for i := range all {
		out[i] = copyVIPService(all[i])
	}
	return out, nil
}

func (c *snapshotClient) GetVIPService(ctx context.Context, name string) (VIPService, error) {
	all, err := c.s.vipServices(ctx, c.Client)
	if err != nil {
		return VIPService{}, err
	}
	for i := range all {
		if all[i].Name == name {
			return copyVIPService(all[i]), nil
		}
	}
	return VIPService{}, &APIError{Op: "get VIP service " + name, Status: http.StatusNotFound, Message: "not in the tailnet's VIP service list"}
}

func (c *snapshotClient) GetPolicy(ctx context.Context) (Policy, error) {
	return c.s.getPolicy(ctx, c.Client)
}

func (c *snapshotClient) PutVIPService(context.Context, VIPService) (VIPService, error) {
	return VIPService{}, ErrNeedsFreshRead
}

func (c *snapshotClient) DeleteVIPService(context.Context, string) error { return ErrNeedsFreshRead }

func (c *snapshotClient) SetPolicy(context.Context, []byte, string) (string, error) {
	return "", ErrNeedsFreshRead
}

func (c *snapshotClient) CreateAuthKey(context.Context, AuthKeyRequest) (AuthKey, error) {
	return AuthKey{}, ErrNeedsFreshRead
}

func (c *snapshotClient) DeleteAuthKey(context.Context, string) error { return ErrNeedsFreshRead }

func (c *snapshotClient) DeleteDevice(context.Context, string) error { return ErrNeedsFreshRead }

// copyVIPService copies what callers may change in place (they do, to
// annotations), so that the shared snapshot stays as read.
func copyVIPService(v VIPService) VIPService {
	v.Annotations = maps.Clone(v.Annotations)
	v.Ports, v.Tags, v.Addrs = slices.Clone(v.Ports), slices.Clone(v.Tags), slices.Clone(v.Addrs)
	return v
}
