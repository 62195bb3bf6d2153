package tsapi

import "time"

// VIPService is a Tailscale VIP service as the API shows it
// (GET/PUT /api/v2/tailnet/{tailnet}/vip-services/{name}).
type VIPService struct {
	// Name is "svc:<dns-label>".
	Name        string            `json:"name"`
	Comment     string            `json:"comment,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Ports are like "tcp:443".
	Ports []string `json:"ports,omitempty"`
	// Tags are like "tag:web"; they decide which hosts may serve the service.
	Tags []string `json:"tags,omitempty"`
	// Addrs are assigned by the server (one IPv4, one IPv6) and kept by
	// PutVIPService even when the caller leaves them empty.
	Addrs []string `json:"addrs,omitempty"`
}

// AuthKeyRequest describes a key for one proxy replica. Keys are always
// preauthorized, single-use and not ephemeral: a replica keeps its node.
type AuthKeyRequest struct {
	Tags        []string
	Description string
	// Expiry is the key's lifetime; zero means the server's default (90 days).
	Expiry time.Duration
}

// AuthKey is a newly created auth key. Key is only ever returned on creation.
type AuthKey struct {
	ID          string
	Key         Secret
	Description string
	Tags        []string
	Created     time.Time
	Expires     time.Time
}

// AuthKeyMeta is what listing keys shows: never the key itself.
type AuthKeyMeta struct {
	ID          string
	Description string
	Tags        []string
	Created     time.Time
	Expires     time.Time
	Revoked     bool
	Invalid     bool
}

// Device is a node of the tailnet.
type Device struct {
	// ID is the legacy numeric ID; NodeID the preferred one. The API accepts either.
	ID     string
	NodeID string
	// Name is the MagicDNS FQDN, e.g. "web-0.tail1234.ts.net".
	Name      string
	Hostname  string
	Addresses []string
	Tags      []string
	// Created is when the device joined the tailnet (zero if unknown).
	Created time.Time
	// LastSeen is zero while the device is connected to control.
	LastSeen           time.Time
	ConnectedToControl bool
	Authorized         bool
}

// Policy is the tailnet policy file as HuJSON with the ETag it was read at.
type Policy struct {
	HuJSON []byte
	ETag   string
}
