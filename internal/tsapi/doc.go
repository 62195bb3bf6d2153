// Package tsapi is the operator's client for the public Tailscale API v2.
//
// It wraps tailscale.com/client/tailscale/v2 behind the small [Client]
// interface the controllers use (and tests fake), and adds what the v2 client
// leaves to its callers:
//
//   - OAuth client credentials against <BaseURL>/api/v2/oauth/token, with the
//     token fetched through the same HTTP client (and retries) as API calls;
//   - retries with backoff on 5xx and 429 that honour Retry-After and stay
//     within the caller's context. A 429 means the request was not processed,
//     so every method is retried; a 5xx leaves the outcome unknown, so only
//     idempotent methods (GET, PUT, DELETE) are retried and a failed POST is
//     reported as [APIError] with OutcomeUnknown set;
//   - typed errors ([APIError], [IsNotFound], [IsPreconditionFailed], …);
//   - VIP service updates that never drop server-assigned addrs, and
//     [NeedsUpdate] so callers can skip writes in steady state;
//   - HuJSON policy helpers for autoApprovers.services that keep the rest of
//     the document (comments included) intact;
//   - a [Cache] holding one client per TailscaleTailnet.
//
// Secrets (OAuth client secret, access tokens, auth keys) are held in
// [Secret] or redacted by String/LogValue methods, and never put into errors.
//
// The package has no Kubernetes imports: callers pass plain values.
package tsapi
