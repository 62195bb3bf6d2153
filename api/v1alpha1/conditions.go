package v1alpha1

import (
	"fmt"
	"unicode/utf8"
)

// Condition types. Every kind has Ready; the others belong to one kind.
const (
	// ConditionReady is True when the object does what it asks for.
	ConditionReady = "Ready"

	// ConditionAvailable (TailscaleEndpoints) is True when at least one
	// machine of the pool forwards.
	ConditionAvailable = "Available"

	// ConditionConfigApplied (TailscaleEndpoints) is True when every
	// machine that reports runs the pool's newest configuration, False
	// when one refused it (it keeps the one it ran), Unknown while it is
	// being applied.
	ConditionConfigApplied = "ConfigApplied"

	// ConditionSelected (TailscaleServices) is True when the selector
	// matches at least one pool.
	ConditionSelected = "Selected"
	// ConditionVIPServiceReady (TailscaleServices) is True when the VIP
	// service exists as desired.
	ConditionVIPServiceReady = "VIPServiceReady"
	// ConditionHealthy (TailscaleServices) is True when at least one
	// backend is healthy.
	ConditionHealthy = "Healthy"
	// ConditionDiscovered (TailscaleServices), with service discovery on,
	// says which existing VIP services matched and which one is used.
	ConditionDiscovered = "Discovered"
	// ConditionAutoProvisioned (TailscaleServices), with an
	// endpointTemplate, says whether a pool was created from it, or why not.
	ConditionAutoProvisioned = "AutoProvisioned"
	// ConditionClusterServiceReady (TailscaleServices, informational) says
	// whether the in-cluster Service <name>-vip, through which clients in
	// the cluster and Envoy Gateway reach the VIP service, is in place.
	ConditionClusterServiceReady = "ClusterServiceReady"
	// ConditionExternalServicesReady (TailscaleServices, informational,
	// present when spec.serviceDiscovery.externalServices is not empty)
	// is True when every external service is in the proxies'
	// configuration, False when one is held out of it (a caBundle that
	// gives no certificate), naming it, its Secret and key, and the fix.
	ConditionExternalServicesReady = "ExternalServicesReady"
)

// Reasons of more than one kind's conditions.
const (
	// ReasonAPIError: the Tailscale API answered with an error.
	ReasonAPIError = "APIError"
	// ReasonTailnetNotReady: the TailscaleTailnet cannot be used yet.
	ReasonTailnetNotReady = "TailnetNotReady"
	// ReasonTailnetNotFound: no TailscaleTailnet of the name exists.
	ReasonTailnetNotFound = "TailnetNotFound"
	// ReasonSecretMissing: a Secret the object names does not exist (a
	// TailscaleTailnet's OAuth client Secret, an external service's
	// caBundle).
	ReasonSecretMissing = "SecretMissing"
	// ReasonSecretKeyMissing: a Secret the object names lacks the key.
	ReasonSecretKeyMissing = "SecretKeyMissing"
	// ReasonNoPorts: there is no port to serve (a pool's backend, a VIP
	// service, an in-cluster Service).
	ReasonNoPorts = "NoPorts"

	// The tailnet's spec.access refuses the object (TailscaleEndpoints'
	// Ready, TailscaleServices' VIPServiceReady); one reason per rule.
	// ReasonAccessNotConfigured: the TailscaleTailnet has no spec.access.
	ReasonAccessNotConfigured = "AccessNotConfigured"
	// ReasonNamespaceNotAllowed: access.namespaceSelector does not select
	// the object's namespace.
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonTagNotAllowed: a tag is not among access.tags.
	ReasonTagNotAllowed = "TagNotAllowed"
	// ReasonNameNotAllowed: the VIP service name lacks access.vipServiceNamePrefix.
	ReasonNameNotAllowed = "NameNotAllowed"
)

// Reasons of a TailscaleTailnet's Ready condition, besides the shared ones.
const (
	ReasonVerified           = "Verified"
	ReasonCredentialsRefused = "CredentialsRefused"
	ReasonAPIUnreachable     = "APIUnreachable"
)

// Reasons of a TailscaleEndpoints' conditions, besides the shared ones.
const (
	// Ready.
	ReasonPoolReady     = "PoolReady"
	ReasonApplyFailed   = "ApplyFailed"
	ReasonAuthKeyFailed = "AuthKeyFailed"
	// ReasonServiceNotFound: the Service the pool forwards to does not exist.
	ReasonServiceNotFound = "ServiceNotFound"
	// ReasonServicePortNotFound: the Service has no port the pool needs.
	ReasonServicePortNotFound = "ServicePortNotFound"
	// ReasonNoReadyEndpoints: a port of the Service has no ready endpoint.
	ReasonNoReadyEndpoints = "NoReadyEndpoints"

	// Available.
	ReasonMachinesReady  = "MachinesReady"
	ReasonNoMachineReady = "NoMachineReady"

	// ConfigApplied.
	ReasonApplied       = "Applied"
	ReasonConfigRefused = "ConfigRefused"
	ReasonApplying      = "Applying"
)

// Reasons of a TailscaleServices' conditions, besides the shared ones.
const (
	// Selected.
	ReasonPoolsSelected   = "PoolsSelected"
	ReasonNoPoolsSelected = "NoPoolsSelected"

	// VIPServiceReady.
	ReasonPending            = "Pending"
	ReasonRegistered         = "Registered"
	ReasonTailnetMismatch    = "TailnetMismatch"
	ReasonApprovalPending    = "ApprovalPending"
	ReasonConflict           = "Conflict"
	ReasonAmbiguousDiscovery = "AmbiguousDiscovery"

	// Discovered.
	ReasonMatched     = "Matched"
	ReasonNoneMatched = "NoneMatched"

	// AutoProvisioned.
	ReasonProvisioned            = "Provisioned"
	ReasonNotNeeded              = "NotNeeded"
	ReasonTemplateLabelsMismatch = "TemplateLabelsMismatch"
	ReasonAutoPoolNameTaken      = "AutoPoolNameTaken"

	// ClusterServiceReady.
	ReasonCreated     = "Created"
	ReasonInvalidName = "InvalidName"
	// ReasonNameTaken: a Service of the in-cluster Service's name is not ours.
	ReasonNameTaken = "NameTaken"
	// ReasonDisabled: spec.clusterService.enabled is false.
	ReasonDisabled = "Disabled"

	// ExternalServicesReady (besides SecretMissing and SecretKeyMissing).
	ReasonConfigured = "Configured"
	// ReasonInvalidCABundle: a caBundle's Secret key holds no PEM X.509
	// certificate.
	ReasonInvalidCABundle = "InvalidCABundle"

	// Healthy.
	ReasonBackendsHealthy   = "BackendsHealthy"
	ReasonNoHealthyBackends = "NoHealthyBackends"

	// Ready.
	ReasonServing    = "Serving"
	ReasonNotServing = "NotServing"
)

// MaxMessage is the most of a message a condition keeps. The API allows
// 32768 bytes per condition, but a status made of several such messages
// could pass the object size limit and be refused, losing every other
// field with it.
const MaxMessage = 2048

// BoundedMessage is msg cut to MaxMessage bytes on a character boundary,
// saying how much was cut.
func BoundedMessage(msg string) string { return Truncate(msg, MaxMessage) }

// Truncate cuts msg to at most limit bytes on a character boundary,
// saying how much was cut; the one cut shared by condition messages and
// Event notes, whose limits differ.
func Truncate(msg string, limit int) string {
	if len(msg) <= limit {
		return msg
	}
	suffix := fmt.Sprintf("… (cut from %d bytes)", len(msg))
	cut := max(0, limit-len(suffix))
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + suffix
}
