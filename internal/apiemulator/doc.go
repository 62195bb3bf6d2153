// Package apiemulator is a faithful, in-process emulator of the public
// Tailscale API v2 endpoints the operator uses, for tests and the lab.
//
// # API surface (same paths, JSON shapes, status codes as the real API)
//
//	POST   /api/v2/oauth/token                        client_credentials → bearer token
//	GET    /api/v2/tailnet/{tailnet}/vip-services     {"vipServices": [...]}
//	GET    /api/v2/tailnet/{tailnet}/vip-services/{name}   404 {"message": ...} when absent
//	PUT    /api/v2/tailnet/{tailnet}/vip-services/{name}   create or replace
//	DELETE /api/v2/tailnet/{tailnet}/vip-services/{name}
//	GET    /api/v2/tailnet/{tailnet}/keys             {"keys": [...]}, never the secret
//	POST   /api/v2/tailnet/{tailnet}/keys             auth key; tags required
//	GET    /api/v2/tailnet/{tailnet}/keys/{id}
//	DELETE /api/v2/tailnet/{tailnet}/keys/{id}
//	GET    /api/v2/tailnet/{tailnet}/devices          {"devices": [...]}
//	GET    /api/v2/device/{id}                        by ID or NodeID
//	DELETE /api/v2/device/{id}
//	GET    /api/v2/tailnet/{tailnet}/acl              ETag header; HuJSON if Accept: application/hujson
//	POST   /api/v2/tailnet/{tailnet}/acl              If-Match: stale ETag → 412
//	GET    /api/v2/tailnet/{tailnet}/dns/preferences  {"magicDNS": true}
//
// {tailnet} is "-" or Options.TailnetDomain. Every path except the token
// endpoint needs "Authorization: Bearer <token>" (401 otherwise). The
// MagicDNS domain is visible, as in the real API, as the suffix of device
// names ("host.<TailnetDomain>").
//
// VIP services are validated ("svc:<dns-label>", ports "tcp:N"/"udp:N",
// tags "tag:x") and get one IPv4 from 100.100.0.0/16 (inside the CGNAT range
// 100.64.0.0/10) and one IPv6 from fd7a:115c:a1e0::/48. A name keeps its
// addresses across updates and even across delete and re-create.
//
// # Contract with the lab (internal/lab)
//
// The lab runs testcontrol and keeps it in step with the emulator:
//
//   - It passes a [Tailnet] in [Options]: the emulator lists the tailnet's
//     devices through Tailnet.Devices and removes one with
//     Tailnet.DeleteDevice, called with the device's NodeID.
//   - It waits on [Server.Changes] (or its own [Server.Subscribe]) and then
//     reads [Server.VIPServices] and [Server.AutoApprovedServiceTags] to give
//     approved hosts the service-host capability and the VIP routes.
//     Notifications are coalesced: one wake-up may stand for many changes,
//     so always re-read the whole state.
//   - When a node registers with an auth key, it calls [Server.ConsumeAuthKey],
//     which checks and marks the key used in one step (or [Server.AuthKey]
//     with AuthKeyInfo.Valid, then [Server.MarkAuthKeyUsed]).
//
// Tests without a lab register devices with [Server.AddDevice].
//
// # Faults and the request log
//
// [Server.SetFault] makes requests matching "[METHOD ]/path/glob" fail with
// a status (5xx, or 429 with Retry-After), fail only some of the time or the
// next N times, or be delayed. [Server.Requests] and [Server.WriteRequests]
// show what the clients did, so tests can assert that steady state makes no
// writes. The same is reachable over HTTP under /emulator/ (see adminRoutes)
// for the standalone binary cmd/tsapi-emulator.
package apiemulator
