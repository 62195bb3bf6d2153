package chart

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// values.schema.json refuses bad values before anything is rendered, and
// its message names the value and what is wrong with it.
func TestSchemaRefusesBadValues(t *testing.T) {
	cases := []struct {
		name, values string
		want         []string // substrings of the error
	}{
		{"replicas zero", `replicaCount: 0`, []string{"/replicaCount", "minimum"}},
		{"replicas a string", `replicaCount: "2"`, []string{"/replicaCount", "integer"}},
		{"unknown top-level value", `replicas: 2`, []string{"replicas"}},
		{"misspelt nested value", `metrics: {serviceMonitr: {enabled: true}}`, []string{"serviceMonitr"}},
		{"pull policy", `image: {pullPolicy: Sometimes}`, []string{"/image/pullPolicy", "Always", "IfNotPresent", "Never"}},
		{"empty repository", `image: {repository: ""}`, []string{"/image/repository"}},
		{"tag with a digest", `image: {tag: "1.0@sha256:abc"}`, []string{"/image/tag"}},
		{"bad digest", `proxyImage: {digest: "sha256:xyz"}`, []string{"/proxyImage/digest"}},
		{"log level", `logLevel: verbose`, []string{"/logLevel", "debug"}},
		{"operator ID not a DNS label", `operatorID: Cluster_East`, []string{"/operatorID"}},
		{"extra arg not a flag", `extraArgs: ["verbose"]`, []string{"/extraArgs/0"}},
		{"port out of range", `metrics: {port: 70000}`, []string{"/metrics/port", "maximum"}},
		{"memory not a quantity", `resources: {limits: {memory: "lots"}}`, []string{"/resources/limits/memory"}},
		{"scrape interval", `metrics: {serviceMonitor: {interval: "30 seconds"}}`, []string{"/metrics/serviceMonitor/interval"}},
		{"tolerations not a list", `tolerations: {key: a}`, []string{"/tolerations", "array"}},
		{"nodeSelector value not a string", `nodeSelector: {zone: 1}`, []string{"/nodeSelector/zone", "string"}},
		{"no leader election with two replicas", `{leaderElection: {enabled: false}, replicaCount: 2}`, []string{"/replicaCount", "maximum"}},
		{"tailnet without its Secret", `tailnet: {create: true}`, []string{"/tailnet/oauthSecretRef/name"}},
		{"tailnet without a name", `tailnet: {create: true, name: "", oauthSecretRef: {name: s}}`, []string{"/tailnet/name"}},
		{"tailnet API URL", `tailnet: {create: true, apiBaseURL: "api.tailscale.com", oauthSecretRef: {name: s}}`, []string{"/tailnet/apiBaseURL"}},
		{"access not an object", `tailnet: {access: [a]}`, []string{"/tailnet/access", "object"}},
		{"existing service account unnamed", `serviceAccount: {create: false}`, []string{"/serviceAccount", "name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals := map[string]any{}
			if err := yaml.Unmarshal([]byte(c.values), &vals); err != nil {
				t.Fatal(err)
			}
			_, err := render(t, vals)
			if err == nil {
				t.Fatalf("%s was accepted", c.values)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// What the schema must not refuse: the defaults, every option, and one
// replica without leader election.
func TestSchemaAcceptsGoodValues(t *testing.T) {
	for _, v := range []string{
		`{}`,
		`{leaderElection: {enabled: false}, replicaCount: 1}`,
		`{serviceAccount: {create: false, name: existing}, rbac: {create: false}}`,
		`{resources: {requests: {cpu: 0.5, memory: 1e9}}}`,
	} {
		vals := map[string]any{}
		if err := yaml.Unmarshal([]byte(v), &vals); err != nil {
			t.Fatal(err)
		}
		if _, err := render(t, vals); err != nil {
			t.Errorf("%s refused: %v", v, err)
		}
	}
}
