package lab

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
)

// controlDNS replaces the MagicDNS extra records testcontrol sends. Its
// only way in is AddDNSRecords, which appends: a deleted VIP service's
// name would keep resolving for ever, to an address nobody routes, where
// production control drops it with the next netmap. So the lab swaps the
// record list under testcontrol's own lock, the one MapResponse reads
// DNSConfig under, and then calls AddDNSRecords with nothing, which sends
// every node a netmap with the new list. The lock is reached by
// reflection because testcontrol does not export it; newControlDNS fails
// (and the lab does not start) if a testcontrol release moves it.
type controlDNS struct {
	control *testcontrol.Server
	mu      *sync.Mutex
}

func newControlDNS(control *testcontrol.Server) (*controlDNS, error) {
	f := reflect.ValueOf(control).Elem().FieldByName("mu")
	if !f.IsValid() || f.Type() != reflect.TypeFor[sync.Mutex]() {
		return nil, fmt.Errorf("lab: testcontrol.Server has no mu sync.Mutex guarding DNSConfig; the lab cannot remove MagicDNS records")
	}
	return &controlDNS{control: control, mu: (*sync.Mutex)(unsafe.Pointer(f.UnsafeAddr()))}, nil
}

// set makes records the whole list of extra records and pushes it.
func (c *controlDNS) set(records []tailcfg.DNSRecord) {
	c.mu.Lock()
	cfg := c.control.DNSConfig.Clone()
	if cfg == nil {
		cfg = new(tailcfg.DNSConfig)
	}
	cfg.ExtraRecords = append([]tailcfg.DNSRecord(nil), records...)
	c.control.DNSConfig = cfg
	c.mu.Unlock()
	c.control.AddDNSRecords() // appends nothing; sends the netmap
}

// records is the list control now sends.
func (c *controlDNS) records() []tailcfg.DNSRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.control.DNSConfig == nil {
		return nil
	}
	return append([]tailcfg.DNSRecord(nil), c.control.DNSConfig.ExtraRecords...)
}
