package pool

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"
)

// MachineStatus is what a proxy machine reports about itself in its state
// Secret under StatusKey, as JSON. The machine is its only writer; the
// operator reads it to fill TailscaleEndpoints and TailscaleServices status.
type MachineStatus struct {
	// DeviceID is the machine's device ID in the Tailscale API.
	DeviceID string `json:"deviceID,omitempty"`
	// Hostname in the tailnet (the pod name).
	Hostname string `json:"hostname,omitempty"`
	// FQDN is the machine's MagicDNS name, without the trailing dot.
	FQDN string `json:"fqdn,omitempty"`
	// TailnetIPs are the machine's tailnet addresses.
	TailnetIPs []string `json:"tailnetIPs,omitempty"`
	// Ready is true when the machine is on the tailnet and listening.
	Ready bool `json:"ready"`
	// ConfigGeneration is the generation of the ConfigMap last applied.
	ConfigGeneration string `json:"configGeneration,omitempty"`
	// ConfigRefused is set while the newest ConfigMap version could not be
	// applied (the machine keeps running ConfigGeneration).
	ConfigRefused *ConfigRefusal `json:"configRefused,omitempty"`
	// Services reports each service the machine balances, by name.
	Services map[string]ServiceReport `json:"services,omitempty"`
	// Updated is when the report was written.
	Updated time.Time `json:"updated"`
}

// ConfigRefusal is a configuration version a machine refused, and why.
type ConfigRefusal struct {
	Generation string `json:"generation"`
	Error      string `json:"error"`
}

// ServiceReport is one balanced service as a machine sees it.
type ServiceReport struct {
	// ActiveTier of the failover strategy: primary, secondary or other.
	ActiveTier string `json:"activeTier,omitempty"`
	// Panic is true when no backend is healthy and all are tried.
	Panic bool `json:"panic,omitempty"`
	// LastFailover is when the active tier last changed, with its reason.
	LastFailover   *time.Time `json:"lastFailover,omitempty"`
	FailoverReason string     `json:"failoverReason,omitempty"`
	// Backends as this machine sees them.
	Backends []BackendReport `json:"backends,omitempty"`
}

// BackendReport is one backend of a service as a machine sees it.
type BackendReport struct {
	Name    string `json:"name"`
	Group   string `json:"group,omitempty"`
	Address string `json:"address"`
	Healthy bool   `json:"healthy"`
	// Active, Total and Failed count connections this machine sent.
	Active int64 `json:"active"`
	Total  int64 `json:"total"`
	Failed int64 `json:"failed"`
	// LastCheck is when the backend was last health checked.
	LastCheck *time.Time `json:"lastCheck,omitempty"`
}

// Bounds of a report the operator reads. A machine's state Secret is
// writable by the machine, so by anyone who controls its pod: what the
// operator copies from a report into a status must stay small, and a
// report that breaks these bounds was not written by tsgw-proxy.
const (
	// MaxReport is the largest report read, in bytes. A backend takes
	// about 200 bytes of it, so this holds a thousand and more.
	MaxReport = 256 << 10
	// maxName bounds identifiers: IDs, names, addresses, versions, tiers.
	maxName = 256
	// maxFQDN is the longest DNS name.
	maxFQDN = 253
	// maxText bounds free text: a refusal's error, a failover's reason.
	maxText = 4096
	// maxIPs: a machine has one IPv4 and one IPv6 tailnet address.
	maxIPs = 8
)

// ParseStatus decodes a machine's report (the value of StatusKey). Garbage,
// and anything beyond the bounds above, is an error naming the field.
func ParseStatus(raw []byte) (MachineStatus, error) {
	if len(raw) > MaxReport {
		return MachineStatus{}, fmt.Errorf("%d bytes, more than %d", len(raw), MaxReport)
	}
	var st MachineStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return MachineStatus{}, fmt.Errorf("not a report: %w", err)
	}
	if err := st.validate(); err != nil {
		return MachineStatus{}, err
	}
	return st, nil
}

// validate returns the first field out of bounds: one is enough to tell
// the report is not tsgw-proxy's, and the error stays short.
func (st *MachineStatus) validate() error {
	if err := firstErr(
		maxLen("deviceID", st.DeviceID, maxName),
		maxLen("hostname", st.Hostname, maxFQDN),
		maxLen("fqdn", st.FQDN, maxFQDN),
		maxLen("configGeneration", st.ConfigGeneration, maxName),
	); err != nil {
		return err
	}
	if len(st.TailnetIPs) > maxIPs {
		return fmt.Errorf("tailnetIPs: %d addresses, more than %d", len(st.TailnetIPs), maxIPs)
	}
	for i, ip := range st.TailnetIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("tailnetIPs[%d]: %q is not an IP address", i, clip(ip))
		}
	}
	if r := st.ConfigRefused; r != nil {
		if err := firstErr(maxLen("configRefused.generation", r.Generation, maxName), maxLen("configRefused.error", r.Error, maxText)); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Services)) {
		field := fmt.Sprintf("services[%q]", clip(name))
		if err := firstErr(maxLen(field, name, maxName), st.Services[name].validate(field)); err != nil {
			return err
		}
	}
	return nil
}

func (s ServiceReport) validate(field string) error {
	if err := firstErr(maxLen(field+".activeTier", s.ActiveTier, maxName), maxLen(field+".failoverReason", s.FailoverReason, maxText)); err != nil {
		return err
	}
	for i, b := range s.Backends {
		f := fmt.Sprintf("%s.backends[%d]", field, i)
		if err := firstErr(
			maxLen(f+".name", b.Name, maxName), maxLen(f+".group", b.Group, maxName), maxLen(f+".address", b.Address, maxName),
			notNegative(f+".active", b.Active), notNegative(f+".total", b.Total), notNegative(f+".failed", b.Failed),
		); err != nil {
			return err
		}
	}
	return nil
}

func maxLen(field, value string, limit int) error {
	if len(value) > limit {
		return fmt.Errorf("%s: %d bytes, more than %d", field, len(value), limit)
	}
	return nil
}

func notNegative(field string, n int64) error {
	if n < 0 {
		return fmt.Errorf("%s: %d is negative", field, n)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// clip shortens a value quoted in an error to what a reader needs.
func clip(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
