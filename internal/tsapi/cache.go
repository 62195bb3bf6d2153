package tsapi

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// Cache keeps one Client per TailscaleTailnet name and rebuilds it when
// anything that reaches the API changes: URL, tailnet, credentials, or the
// caller's version string (say, the credentials Secret's resourceVersion).
// It is safe for concurrent use.
type Cache struct {
	build func(Config) (Client, error)

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	fingerprint string
	client      Client
}

// NewCache returns a Cache that builds clients with build; nil means New.
func NewCache(build func(Config) (Client, error)) *Cache {
	if build == nil {
		build = New
	}
	return &Cache{build: build, entries: map[string]cacheEntry{}}
}

// Get returns the client for the tailnet called name, building a new one
// if there is none or cfg/version differ from what it was built with.
func (c *Cache) Get(name string, cfg Config, version string) (Client, error) {
	fp := fingerprint(cfg, version)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[name]; ok && e.fingerprint == fp {
		return e.client, nil
	}
	client, err := c.build(cfg)
	if err != nil {
		return nil, err
	}
	c.entries[name] = cacheEntry{fingerprint: fp, client: client}
	return client, nil
}

// Forget drops the client of a deleted tailnet.
func (c *Cache) Forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, name)
}

// fingerprint hashes what identifies a client, so the cache compares
// credentials without keeping a second plain copy around for comparison.
func fingerprint(cfg Config, version string) string {
	h := sha256.New()
	for _, part := range []string{cfg.BaseURL, cfg.Tailnet, cfg.ClientID, cfg.ClientSecret, cfg.UserAgent, version} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
