package tsapi

import "context"

// Client is what the operator needs from the Tailscale API. One Client
// serves one tailnet. Every call is bounded by ctx, including retries.
type Client interface {
	// ListVIPServices returns every VIP service of the tailnet.
	ListVIPServices(ctx context.Context) ([]VIPService, error)
	// GetVIPService returns one VIP service; IsNotFound(err) when absent.
	GetVIPService(ctx context.Context, name string) (VIPService, error)
	// PutVIPService creates or replaces a VIP service. When svc.Addrs is
	// empty the existing addrs are read and sent back, so they are never
	// dropped. It returns the service as written.
	PutVIPService(ctx context.Context, svc VIPService) (VIPService, error)
	// DeleteVIPService deletes a VIP service; a missing one is not an error.
	DeleteVIPService(ctx context.Context, name string) error

	// CreateAuthKey mints a preauthorized, single-use, non-ephemeral key.
	// It is not retried after a 5xx: IsOutcomeUnknown(err) then says a key
	// may exist on the server.
	CreateAuthKey(ctx context.Context, req AuthKeyRequest) (AuthKey, error)
	// DeleteAuthKey revokes a key; a missing one is not an error.
	DeleteAuthKey(ctx context.Context, id string) error
	// ListAuthKeys lists the keys visible to the credentials.
	ListAuthKeys(ctx context.Context) ([]AuthKeyMeta, error)

	// ListDevices returns every device of the tailnet.
	ListDevices(ctx context.Context) ([]Device, error)
	// GetDevice returns one device by ID or NodeID; IsNotFound(err) when absent.
	GetDevice(ctx context.Context, id string) (Device, error)
	// DeleteDevice removes a device; a missing one is not an error.
	DeleteDevice(ctx context.Context, id string) error

	// GetPolicy returns the policy file as HuJSON with its ETag.
	GetPolicy(ctx context.Context) (Policy, error)
	// SetPolicy replaces the policy only if it is still at etag (If-Match).
	// A concurrent edit gives IsPreconditionFailed(err). It returns the new ETag
	// when the server sends one.
	SetPolicy(ctx context.Context, hujson []byte, etag string) (string, error)

	// MagicDNSDomain returns the tailnet's MagicDNS domain, e.g. "tail1234.ts.net".
	// It is read from device names; with no device yet, errors.Is(err, ErrDomainUnknown).
	MagicDNSDomain(ctx context.Context) (string, error)
}
