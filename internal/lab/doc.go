// Package lab runs a whole tailnet inside one process, offline: Tailscale's
// own test control server (testcontrol), a DERP relay and a STUN server on
// loopback, and real tsnet nodes speaking WireGuard in userspace.
//
// On top of testcontrol, which knows nothing of VIP services, the lab keeps
// a router that makes them really route: it learns which VIP services each
// node advertises (the node's Hostinfo.ServicesHash, then a c2n
// "GET /vip-services" round trip, exactly as production control does),
// checks the policy's autoApprovers.services against the node's tags, and
// gives one primary host per service the service-host capability and the
// VIP routes. Clients resolve the service's MagicDNS name through DNS
// records the router adds.
//
// A loopback SOCKS5 proxy (package lab/socks) lets programs outside the
// tailnet (curl, browsers, e2e tests) reach tailnet names through a lab
// client node.
//
// Start works without a testing.TB so that a normal binary (make dev) can
// run the lab; Close stops everything it started.
package lab
