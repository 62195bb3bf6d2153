package apiemulator

import (
	"errors"
	"slices"
	"strings"
)

// VIPServices returns a snapshot of the VIP services, sorted by name.
func (s *Server) VIPServices() []VIPService {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]VIPService, 0, len(s.services))
	for _, svc := range s.services {
		out = append(out, cloneService(svc))
	}
	slices.SortFunc(out, func(a, b VIPService) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Policy returns the policy file as stored (HuJSON) and its ETag, unquoted.
func (s *Server) Policy() (hujson []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.policy.doc), s.policy.etag
}

// AutoApprovedServiceTags returns the policy's autoApprovers.services:
// "svc:name" → tags whose devices may host it without approval.
func (s *Server) AutoApprovedServiceTags() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.policy.services))
	for name, tags := range s.policy.services {
		out[name] = slices.Clone(tags)
	}
	return out
}

// Changes is notified (coalesced, never blocking the emulator) after any
// change to VIP services or the policy. It has one reader; use Subscribe
// for more.
func (s *Server) Changes() <-chan struct{} { return s.changes }

// Subscribe returns a channel notified like Changes and a function that
// ends the subscription.
func (s *Server) Subscribe() (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{}, 1)
	id := s.nextSub
	s.nextSub++
	s.subscribers[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subscribers, id)
	}
}

// notifyLocked wakes every subscriber; callers hold s.mu.
func (s *Server) notifyLocked() {
	for _, ch := range s.subscribers {
		select {
		case ch <- struct{}{}:
		default: // a notification is already pending: coalesce
		}
	}
}

// AuthKeys lists every auth key ever created, revoked ones included
// (Revoked set), sorted by ID.
func (s *Server) AuthKeys() []AuthKeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AuthKeyInfo, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.info())
	}
	slices.SortFunc(out, func(a, b AuthKeyInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AuthKey looks up an auth key by its secret value ("tskey-auth-…").
func (s *Server) AuthKey(key string) (AuthKeyInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keyBySecretLocked(key)
	if k == nil {
		return AuthKeyInfo{}, false
	}
	return k.info(), true
}

// MarkAuthKeyUsed records that a key admitted a node; a single-use key
// is invalid afterwards.
func (s *Server) MarkAuthKeyUsed(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keyBySecretLocked(key); k != nil {
		k.used = true
	}
}

func (s *Server) keyBySecretLocked(secret string) *authKey {
	for _, k := range s.keys {
		if k.secret == secret {
			return k
		}
	}
	return nil
}

// AddDevice registers a device, for tests without a lab tailnet.
// A device with the same NodeID is replaced.
func (s *Server) AddDevice(d Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devices[d.NodeID] = cloneDevice(d)
}

// RemoveDevice forgets a device registered with AddDevice (by ID or NodeID).
func (s *Server) RemoveDevice(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nodeID, d := range s.devices {
		if d.ID == id || d.NodeID == id {
			delete(s.devices, nodeID)
		}
	}
}

func cloneService(svc VIPService) VIPService {
	svc.Addrs = slices.Clone(svc.Addrs)
	svc.Ports = slices.Clone(svc.Ports)
	svc.Tags = slices.Clone(svc.Tags)
	if svc.Annotations != nil {
		a := make(map[string]string, len(svc.Annotations))
		for k, v := range svc.Annotations {
			a[k] = v
		}
		svc.Annotations = a
	}
	return svc
}

func cloneDevice(d Device) Device {
	d.Addresses = slices.Clone(d.Addresses)
	d.Tags = slices.Clone(d.Tags)
	d.AdvertisedRoutes = slices.Clone(d.AdvertisedRoutes)
	d.EnabledRoutes = slices.Clone(d.EnabledRoutes)
	return d
}

// ErrAuthKeyRefused is returned by ConsumeAuthKey for an unknown, expired,
// revoked or already used key.
var ErrAuthKeyRefused = errors.New("auth key unknown, expired, revoked or already used")

// ConsumeAuthKey checks a key and, if it may admit a node, marks it used,
// in one step so two nodes cannot both be admitted by one single-use key.
func (s *Server) ConsumeAuthKey(key string) (AuthKeyInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keyBySecretLocked(key)
	if k == nil || !k.info().Valid(s.now()) {
		return AuthKeyInfo{}, ErrAuthKeyRefused
	}
	k.used = true
	return k.info(), nil
}
