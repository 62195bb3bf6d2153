package pool

import "time"

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
