package v1alpha1_test

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// invalid is an object the API server must refuse, with the part of the
// message that names the field and the fix.
type invalid struct {
	name string
	kind string
	spec string
	want string
}

var invalidObjects = []invalid{
	// TailscaleServices: selector.
	{"selector is required", "TailscaleServices", `loadBalancing: {strategy: round-robin}`,
		`spec.selector: Required value`},
	{"selector operator", "TailscaleServices", `selector: {matchExpressions: [{key: region, operator: Equals, values: [east]}]}`,
		`selector.matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist`},
	{"selector In needs values", "TailscaleServices", `selector: {matchExpressions: [{key: region, operator: In}]}`,
		`selector.matchExpressions[].values must be non-empty when the operator is In or NotIn`},
	{"selector NotIn needs values", "TailscaleServices", `selector: {matchExpressions: [{key: region, operator: NotIn, values: []}]}`,
		`selector.matchExpressions[].values must be non-empty when the operator is In or NotIn`},
	{"selector Exists takes no values", "TailscaleServices", `selector: {matchExpressions: [{key: region, operator: Exists, values: [east]}]}`,
		`selector.matchExpressions[].values must be empty when the operator is Exists or DoesNotExist`},
	// vipService.
	{"service name without svc:", "TailscaleServices", `{selector: {}, vipService: {name: web-service}}`,
		`spec.vipService.name: Invalid value: "web-service": must be svc: followed by a DNS label`},
	{"service name not a DNS label", "TailscaleServices", `{selector: {}, vipService: {name: "svc:Web_Service"}}`,
		`must be svc: followed by a DNS label`},
	{"service name starts with a dash", "TailscaleServices", `{selector: {}, vipService: {name: "svc:-web"}}`,
		`must be svc: followed by a DNS label`},
	{"port protocol", "TailscaleServices", `{selector: {}, vipService: {ports: ["http:80"]}}`,
		`spec.vipService.ports[0]: Invalid value: "http:80": must be tcp:PORT or udp:PORT`},
	{"port zero", "TailscaleServices", `{selector: {}, vipService: {ports: ["tcp:443", "tcp:0"]}}`,
		`spec.vipService.ports[1]: Invalid value: "tcp:0": must be tcp:PORT or udp:PORT with PORT between 1 and 65535`},
	{"port too high", "TailscaleServices", `{selector: {}, vipService: {ports: ["udp:70000"]}}`,
		`must be tcp:PORT or udp:PORT with PORT between 1 and 65535`},
	{"service tag prefix", "TailscaleServices", `{selector: {}, vipService: {tags: [web]}}`,
		`spec.vipService.tags[0]: Invalid value: "web": must be a Tailscale tag`},
	{"empty sharing", "TailscaleServices", `{selector: {}, vipService: {sharing: {}}}`,
		`spec.vipService.sharing: Invalid value: vipService.sharing is empty: set allow: true to let others join the VIP service this TailscaleServices owns, join: true to join one another TailscaleServices owns, or remove sharing`},
	// loadBalancing.
	{"strategy enum", "TailscaleServices", `{selector: {}, loadBalancing: {strategy: random}}`,
		`spec.loadBalancing.strategy: Unsupported value: "random"`},
	{"interval without unit", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {interval: "30"}}}`,
		`spec.loadBalancing.healthCheck.interval: Invalid value: "30": must be a non-negative Go duration`},
	{"negative timeout", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {timeout: "-5s"}}}`,
		`spec.loadBalancing.healthCheck.timeout: Invalid value: "-5s": must be a non-negative Go duration`},
	{"healthy threshold 0", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {healthyThreshold: 0}}}`,
		`spec.loadBalancing.healthCheck.healthyThreshold: Invalid value: 0: spec.loadBalancing.healthCheck.healthyThreshold in body should be greater than or equal to 1`},
	{"unhealthy threshold 0", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {unhealthyThreshold: 0}}}`,
		`spec.loadBalancing.healthCheck.unhealthyThreshold in body should be greater than or equal to 1`},
	{"timeout longer than interval", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {interval: 10s, timeout: 30s}}}`,
		`spec.loadBalancing.healthCheck.timeout: Invalid value: healthCheck.timeout must be shorter than healthCheck.interval`},
	{"timeout equal to interval", "TailscaleServices", `{selector: {}, loadBalancing: {healthCheck: {interval: 1m, timeout: 60s}}}`,
		`healthCheck.timeout must be shorter than healthCheck.interval`},
	{"negative weight", "TailscaleServices", `{selector: {}, loadBalancing: {strategy: weighted, weights: {web-east: 70, web-west: -1}}}`,
		`spec.loadBalancing.weights: Invalid value: loadBalancing.weights: every weight must be 0 or more`},
	{"failover needs failoverConfig", "TailscaleServices", `{selector: {}, loadBalancing: {strategy: failover}}`,
		`spec.loadBalancing.failoverConfig: Required value: loadBalancing.failoverConfig is required when strategy is failover`},
	{"failback delay in words", "TailscaleServices", `{selector: {}, loadBalancing: {strategy: failover, failoverConfig: {primaryEndpoints: [a], failbackDelay: "2 minutes"}}}`,
		`spec.loadBalancing.failoverConfig.failbackDelay: Invalid value: "2 minutes": must be a non-negative Go duration`},
	{"unknown field", "TailscaleServices", `{selector: {}, loadBalancing: {stratgy: weighted}}`,
		`unknown field "spec.loadBalancing.stratgy"`},
	// serviceDiscovery.
	{"external address required", "TailscaleServices", `{selector: {}, serviceDiscovery: {externalServices: [{name: api, port: 443}]}}`,
		`spec.serviceDiscovery.externalServices[0].address: Required value`},
	{"external address empty", "TailscaleServices", `{selector: {}, serviceDiscovery: {externalServices: [{name: api, address: "", port: 443}]}}`,
		`spec.serviceDiscovery.externalServices[0].address: Invalid value: "": spec.serviceDiscovery.externalServices[0].address in body should be at least 1 chars long`},
	{"external protocol", "TailscaleServices", `{selector: {}, serviceDiscovery: {externalServices: [{name: api, address: api.example.com, port: 443, protocol: GRPC}]}}`,
		`spec.serviceDiscovery.externalServices[0].protocol: Unsupported value: "GRPC": supported values: "HTTP", "HTTPS", "TCP", "UDP"`},
	{"external port", "TailscaleServices", `{selector: {}, serviceDiscovery: {externalServices: [{name: api, address: api.example.com, port: 0}]}}`,
		`spec.serviceDiscovery.externalServices[0].port in body should be greater than or equal to 1`},
	{"external weight", "TailscaleServices", `{selector: {}, serviceDiscovery: {externalServices: [{name: api, address: api.example.com, port: 443, weight: -5}]}}`,
		`spec.serviceDiscovery.externalServices[0].weight in body should be greater than or equal to 0`},
	{"discovery service names", "TailscaleServices", `{selector: {}, serviceDiscovery: {vipServiceSelector: {serviceNames: [database]}}}`,
		`spec.serviceDiscovery.vipServiceSelector.serviceNames[0]: Invalid value: "database": must be svc: followed by a DNS label`},
	{"discovery tags", "TailscaleServices", `{selector: {}, serviceDiscovery: {vipServiceSelector: {tags: ["shared"]}}}`,
		`spec.serviceDiscovery.vipServiceSelector.tags[0]: Invalid value: "shared": must be a Tailscale tag`},
	// endpointTemplate.
	{"template labels required", "TailscaleServices", `{selector: {}, endpointTemplate: {tags: ["tag:a"], proxy: {replicas: 1}}}`,
		`spec.endpointTemplate.labels: Required value`},
	{"template replicas", "TailscaleServices", `{selector: {}, endpointTemplate: {tags: ["tag:a"], labels: {a: b}, proxy: {replicas: -1}}}`,
		`spec.endpointTemplate.proxy.replicas in body should be greater than or equal to 0`},
	{"template connection type", "TailscaleServices", `{selector: {}, endpointTemplate: {tags: ["tag:a"], labels: {a: b}, proxy: {connectionType: both}}}`,
		`spec.endpointTemplate.proxy.connectionType: Unsupported value: "both": supported values: "ingress", "egress", "bidirectional"`},
	{"template tags", "TailscaleServices", `{selector: {}, endpointTemplate: {tags: ["k8s"], labels: {a: b}, proxy: {}}}`,
		`spec.endpointTemplate.tags[0]: Invalid value: "k8s": must be a Tailscale tag`},
	// TailscaleEndpoints.
	{"endpoints tags required", "TailscaleEndpoints", `{proxy: {replicas: 1}}`,
		`spec.tags: Required value`},
	{"endpoints replicas", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {replicas: -2}}`,
		`spec.proxy.replicas: Invalid value: -2: spec.proxy.replicas in body should be greater than or equal to 0`},
	{"endpoints port number", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {ports: [{port: 70000, protocol: TCP}]}}`,
		`spec.proxy.ports[0].port: Invalid value: 70000: spec.proxy.ports[0].port in body should be less than or equal to 65535`},
	{"endpoints port protocol", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {ports: [{port: 80, protocol: SCTP}]}}`,
		`spec.proxy.ports[0].protocol: Unsupported value: "SCTP": supported values: "TCP", "UDP"`},
	{"endpoints backend: one kind", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {}, backend: {service: {name: web, port: 80}, addresses: ["10.0.0.1:80"]}}`,
		`set exactly one of backend.service (a Service in this namespace) or backend.addresses (host:port list)`},
	{"endpoints backend address without port", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {}, backend: {addresses: ["10.0.0.1"]}}`,
		`spec.backend.addresses[0]: Invalid value: "10.0.0.1": must be host:port with a port between 1 and 65535`},
	{"endpoints backend port too high", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {}, backend: {addresses: ["[fd00::1]:99999"]}}`,
		`must be host:port with a port between 1 and 65535`},
	{"endpoints pod labels of the pool's keys", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {pod: {labels: {team: a, "gateway.tailscale.com/pool": other}}}}`,
		`spec.proxy.pod.labels: Invalid value: may not set gateway.tailscale.com/pool, app.kubernetes.io/component or app.kubernetes.io/managed-by`},
	{"endpoints pod unknown field", "TailscaleEndpoints", `{tags: ["tag:a"], proxy: {pod: {securityContext: {runAsUser: 0}}}}`,
		`unknown field "spec.proxy.pod.securityContext"`},
	// TailscaleTailnet.
	{"tailnet secret required", "TailscaleTailnet", `{tailnet: "-"}`,
		`spec.oauthSecretRef: Required value`},
	{"tailnet api url", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, apiBaseURL: "ftp://api.example.com"}`,
		`spec.apiBaseURL: Invalid value: "ftp://api.example.com": must be an http:// or https:// URL`},
	{"tailnet access needs a namespace selector", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {tags: ["tag:web"]}}`,
		`spec.access.namespaceSelector: Required value`},
	{"tailnet access selector operator", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {matchExpressions: [{key: team, operator: Equals, values: [a]}]}}}`,
		`spec.access.namespaceSelector: Invalid value: namespaceSelector.matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist`},
	{"tailnet access selector In needs values", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {matchExpressions: [{key: team, operator: In}]}}}`,
		`namespaceSelector.matchExpressions[].values must be non-empty when the operator is In or NotIn`},
	{"tailnet access tags", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, tags: ["web"]}}`,
		`spec.access.tags[0]: Invalid value: "web": must be a Tailscale tag`},
	{"tailnet access tags are a set", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, tags: ["tag:web", "tag:web"]}}`,
		`spec.access.tags[1]: Duplicate value: "tag:web"`},
	{"tailnet access name prefix with svc:", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, vipServiceNamePrefix: "svc:team-a-"}}`,
		`spec.access.vipServiceNamePrefix: Invalid value: "svc:team-a-": must be lower-case letters, digits, dashes and the placeholder {namespace}, without svc: (it is implied)`},
	{"tailnet access name prefix placeholder", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, vipServiceNamePrefix: "{team}-"}}`,
		`spec.access.vipServiceNamePrefix: Invalid value: "{team}-": must be lower-case letters, digits, dashes and the placeholder {namespace}`},
	{"tailnet access name prefix upper case", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, vipServiceNamePrefix: "Team-"}}`,
		`must be lower-case letters, digits, dashes and the placeholder {namespace}`},
	{"tailnet access name prefix leading dash", "TailscaleTailnet", `{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}, vipServiceNamePrefix: "-{namespace}"}}`,
		`spec.access.vipServiceNamePrefix: Invalid value: "-{namespace}": must not start with a dash`},
}

func TestInvalidObjectsAreRefusedWithMessagesNamingTheField(t *testing.T) {
	env := kubetest.Start(t)
	for i, tc := range invalidObjects {
		t.Run(tc.name, func(t *testing.T) {
			var spec map[string]any
			if err := yaml.Unmarshal([]byte(tc.spec), &spec); err != nil {
				t.Fatalf("bad test spec: %v", err)
			}
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "gateway.tailscale.com/v1alpha1",
				"kind":       tc.kind,
				"metadata":   map[string]any{"name": fmt.Sprintf("invalid-%d", i)},
				"spec":       spec,
			}}
			if tc.kind != "TailscaleTailnet" {
				obj.SetNamespace("default")
			}
			err := env.Client.Create(t.Context(), obj, client.FieldValidation("Strict"))
			if err == nil {
				t.Fatalf("accepted; want refusal with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("refused with\n  %v\nwant a message containing\n  %s", err, tc.want)
			}
		})
	}
}

// The access a single-team cluster and a shared tailnet write are accepted.
func TestTailnetAccessIsAccepted(t *testing.T) {
	env := kubetest.Start(t)
	for i, spec := range []string{
		`{oauthSecretRef: {name: creds}, access: {namespaceSelector: {}}}`,
		`{oauthSecretRef: {name: creds}, access: {namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [a, b]}]},
		  tags: ["tag:web", "tag:db"], vipServiceNamePrefix: "{namespace}-"}}`,
		`{oauthSecretRef: {name: creds}, access: {namespaceSelector: {matchLabels: {team: a}}, vipServiceNamePrefix: "shared-{namespace}-"}}`,
	} {
		var parsed map[string]any
		if err := yaml.Unmarshal([]byte(spec), &parsed); err != nil {
			t.Fatalf("bad test spec: %v", err)
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.tailscale.com/v1alpha1",
			"kind":       "TailscaleTailnet",
			"metadata":   map[string]any{"name": fmt.Sprintf("valid-%d", i)},
			"spec":       parsed,
		}}
		if err := env.Client.Create(t.Context(), obj, client.FieldValidation("Strict")); err != nil {
			t.Errorf("refused %s: %v", spec, err)
		}
	}
}
