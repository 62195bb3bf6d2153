package apiemulator

import "time"

// VIPService is a VIP service in the API's JSON shape
// (GET /api/v2/tailnet/{tailnet}/vip-services/{name}).
type VIPService struct {
	Name        string            `json:"name"`
	Addrs       []string          `json:"addrs,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
}

// Device is a tailnet device in the API's JSON shape
// (GET /api/v2/device/{id}, and the elements of GET .../devices).
type Device struct {
	Addresses []string `json:"addresses"`
	// ID is the legacy numeric identifier; NodeID the preferred one.
	ID     string `json:"id"`
	NodeID string `json:"nodeId"`
	// Name is the MagicDNS FQDN, e.g. "web-0.tail1234.ts.net".
	Name                      string    `json:"name"`
	Hostname                  string    `json:"hostname"`
	User                      string    `json:"user"`
	Tags                      []string  `json:"tags,omitempty"`
	Authorized                bool      `json:"authorized"`
	KeyExpiryDisabled         bool      `json:"keyExpiryDisabled"`
	BlocksIncomingConnections bool      `json:"blocksIncomingConnections"`
	ClientVersion             string    `json:"clientVersion"`
	Created                   time.Time `json:"created"`
	Expires                   time.Time `json:"expires"`
	IsEphemeral               bool      `json:"isEphemeral"`
	IsExternal                bool      `json:"isExternal"`
	ConnectedToControl        bool      `json:"connectedToControl"`
	// LastSeen is omitted while the device is connected to control.
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	MachineKey      string    `json:"machineKey"`
	NodeKey         string    `json:"nodeKey"`
	OS              string    `json:"os"`
	UpdateAvailable bool      `json:"updateAvailable"`
	// AdvertisedRoutes and EnabledRoutes are only shown with ?fields=all.
	AdvertisedRoutes []string `json:"advertisedRoutes,omitempty"`
	EnabledRoutes    []string `json:"enabledRoutes,omitempty"`
}

// AuthKeyInfo is what the lab needs to admit a node with an auth key.
type AuthKeyInfo struct {
	ID            string
	Tags          []string
	Reusable      bool
	Ephemeral     bool
	Preauthorized bool
	// Used is set once a single-use key has admitted a node.
	Used    bool
	Revoked bool
	Created time.Time
	Expires time.Time
}

// Valid reports whether the key can still admit a node at now.
func (k AuthKeyInfo) Valid(now time.Time) bool {
	if k.Revoked || now.After(k.Expires) {
		return false
	}
	return k.Reusable || !k.Used
}

// RequestRecord is one API request the emulator answered.
type RequestRecord struct {
	Method string
	Path   string
	Status int
	Time   time.Time
	// Fault is set when a switched-on fault answered instead of the API.
	Fault bool
}

// IsWrite reports whether the request asked to change tailnet state.
// Fetching an OAuth token is not a write.
func (r RequestRecord) IsWrite() bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS":
		return false
	}
	return r.Path != tokenPath
}

// Fault makes requests matching a pattern misbehave.
type Fault struct {
	// Status answers matching requests with this status (5xx, or 429)
	// instead of serving them; 0 serves them normally after Latency.
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with the status.
	RetryAfter time.Duration
	// Probability is the share of matching requests that fail; 0 means all.
	Probability float64
	// Times limits the fault to the next Times matching requests; 0 means no limit.
	Times int
	// Latency delays matching requests (failing or not); it ends early when
	// the client gives up.
	Latency time.Duration
}

// Tailnet is what the emulator asks of the real (lab) tailnet.
// Optional: nil means devices are only those registered with AddDevice.
type Tailnet interface {
	// Devices returns the current tailnet devices as the API shows them.
	Devices() []Device
	// DeleteDevice removes a node from the tailnet.
	DeleteDevice(id string) error
}

// Options configures a Server.
type Options struct {
	// ClientID and ClientSecret are the one OAuth client the emulator accepts.
	ClientID     string
	ClientSecret string
	// TailnetDomain is the MagicDNS domain, e.g. "tail1234.ts.net". It is
	// also accepted as the tailnet name in paths, besides "-".
	TailnetDomain string
	// Tailnet supplies and deletes devices; nil keeps devices in the emulator.
	Tailnet Tailnet
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Seed makes Fault.Probability draws repeatable; 0 picks a fixed default.
	Seed uint64
	// Policy is the initial policy file (HuJSON); empty means a default that
	// allows all traffic.
	Policy []byte
}
