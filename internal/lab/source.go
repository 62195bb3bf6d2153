package lab

// ServiceSource is where the router learns the tailnet's VIP services and
// who may host them: in the lab, the Tailscale API emulator (see
// FromEmulator).
type ServiceSource interface {
	// Services returns the VIP services that exist.
	Services() []VIPService
	// ServiceApprovers returns the policy's autoApprovers.services:
	// "svc:name" → tags whose nodes may host it.
	ServiceApprovers() map[string][]string
	// Subscribe returns a channel notified (coalesced) after any change to
	// services or policy, and a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
}
