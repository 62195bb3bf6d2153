package lb

import (
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func TestEveryStrategyHasAPicker(t *testing.T) {
	for _, s := range proxyconfig.Strategies {
		if p, err := pickerFor(s, &leastConn{}); err != nil || p == nil {
			t.Errorf("%s: picker %v, %v", s, p, err)
		}
	}
	if _, err := pickerFor("random", &leastConn{}); err == nil {
		t.Error("an unknown strategy has a picker")
	}
}

// TestOnlyFailoverIsTiered pins which strategies run the failover state
// machine.
func TestOnlyFailoverIsTiered(t *testing.T) {
	for _, s := range proxyconfig.Strategies {
		p, _ := pickerFor(s, &leastConn{})
		if got, want := p.tiered(), s == proxyconfig.StrategyFailover; got != want {
			t.Errorf("%s: tiered = %v, want %v", s, got, want)
		}
	}
}
