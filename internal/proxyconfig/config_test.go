package proxyconfig

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseExample(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Services[0]
	if s.Strategy != StrategyWeighted || s.FailbackDelay.Duration != time.Minute ||
		s.HealthCheck.Timeout.Duration != 500*time.Millisecond || s.HealthCheck.HealthyThreshold != 1 {
		t.Fatalf("service = %+v", s)
	}
	if got := s.GroupWeight("b2"); got != 30 {
		t.Errorf("GroupWeight(b2) = %d, want 30 (first member's)", got)
	}
	if got := s.GroupWeight("none"); got != 1 {
		t.Errorf("GroupWeight of an unweighted group = %d, want 1", got)
	}
	if b := s.Backends[2]; s.ProbeProtocol(&b) != ProtocolTCP || s.ProbeProtocol(&s.Backends[0]) != ProtocolHTTP {
		t.Errorf("probe protocols wrong")
	}
	if s.OutlierDetection.ConsecutiveFailures != 5 || s.ConnectTimeout.Duration != DefaultConnectTimeout {
		t.Errorf("defaults not applied: %+v", s)
	}
	// The operator renders JSON: a round trip must give the same config.
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse %s: %v", out, err)
	}
	if !reflect.DeepEqual(c, again) {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", c, again)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`
listeners: [{address: ":8080", service: s}]
services:
  - name: s
    healthCheck: {enabled: true, path: /health, interval: 4s}
    backends: [{name: a, address: "a.example:80"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Services[0]
	h := s.HealthCheck
	b := s.Backends[0]
	if s.Strategy != StrategyRoundRobin || h.Protocol != ProtocolHTTP || h.Timeout.Duration != 2*time.Second ||
		h.HealthyThreshold != 2 || h.UnhealthyThreshold != 3 || b.Tier != TierOther || b.Group != "a" {
		t.Fatalf("defaults: %+v", s)
	}
}

func TestValidationNamesTheField(t *testing.T) {
	base := `
listeners: [{address: "127.0.0.1:8080", service: web}]
services:
  - name: web
    backends:
      - {name: b1, address: "127.0.0.1:9001"}
`
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"bad backend address", strings.Replace(base, `"127.0.0.1:9001"`, `"127.0.0.1"`, 1),
			[]string{"services[0].backends[0].address: must be host:port"}},
		{"backend port 0", strings.Replace(base, `:9001`, `:0`, 1),
			[]string{"services[0].backends[0].address: port must be a number from 1"}},
		{"unknown field", strings.Replace(base, "name: web", "name: web\n    colour: blue", 1),
			[]string{`unknown field "colour"`}},
		{"unknown strategy", strings.Replace(base, "name: web", "name: web\n    strategy: random", 1),
			[]string{"services[0].strategy: must be one of"}},
		{"listener for a missing service", strings.Replace(base, "service: web", "service: api", 1),
			[]string{`listeners[0].service: no service named "api"`}},
		{"bad duration", strings.Replace(base, "name: web", "name: web\n    failbackDelay: soon", 1),
			[]string{"soon"}},
		{"timeout not below interval", strings.Replace(base, "name: web", "name: web\n    healthCheck: {interval: 1s, timeout: 1s}", 1),
			[]string{"services[0].healthCheck.timeout: must be less than interval"}},
		{"thresholds", strings.Replace(base, "name: web", "name: web\n    healthCheck: {healthyThreshold: -1, unhealthyThreshold: -2}", 1),
			[]string{"healthCheck.healthyThreshold: must be at least 1", "healthCheck.unhealthyThreshold: must be at least 1"}},
		{"group weights disagree", base + `      - {name: b2, address: "127.0.0.1:9002", group: g, weight: 2}
      - {name: b3, address: "127.0.0.1:9003", group: g, weight: 3}
`, []string{"services[0].backends[2].weight: group \"g\" already has weight 2"}},
		{"negative weight and bad tier and protocol", base + `      - {name: b2, address: "127.0.0.1:9002", weight: -1, tier: gold, protocol: SCTP}
`, []string{"backends[1].weight: must not be negative", "backends[1].tier: must be one of", "backends[1].protocol: must be one of"}},
		{"duplicates", base + `      - {name: b1, address: "127.0.0.1:9002"}
  - name: web
    backends: [{name: x, address: "x:1"}]
`, []string{"services[0].backends[1].name: duplicate backend", "services[1].name: duplicate service"}},
		{"no backends", "services: [{name: web}]", []string{"services[0].backends: at least one backend is required"}},
		{"pod listener outside pod mode", strings.Replace(base, "service: web}", "service: web, network: pod}", 1),
			[]string{"listeners[0].network: pod needs a tailnet section (pod mode)"}},
		{"pod backend", "tailnet: {controlURL: http://c}\n" + strings.Replace(base, `9001"}`, `9001", network: pod}`, 1),
			[]string{"services[0].backends[0].network: must be tcp or tailnet (got \"pod\")"}},
		{"unknown listener network", strings.Replace(base, "service: web}", "service: web, network: lan}", 1),
			[]string{"listeners[0].network: must be tcp, tailnet or pod (got \"lan\")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(`{"services":[{"name":"s","backends":[{"name":"a","address":"a:1","weight":0}]}]}`))
	f.Add([]byte("services: [{name: s, strategy: failover, backends: [{name: a, address: '[::1]:80', tier: primary}]}]"))
	f.Add([]byte("listeners: [{address: ':0', service: s}]\nservices: []"))
	f.Add([]byte("services: [{name: s, healthCheck: {interval: -1s}}]"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must survive the JSON round trip the operator uses.
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("valid config %s does not re-parse: %v", out, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed %s", out)
		}
	})
}
