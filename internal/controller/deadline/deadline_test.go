package deadline

import (
	"context"
	"testing"
	"time"
)

func TestForTailnet(t *testing.T) {
	for _, tc := range []struct {
		name        string
		left        time.Duration
		wantReserve time.Duration
	}{
		{"a minute", time.Minute, Reserve},
		{"ten seconds keep half", 10 * time.Second, 5 * time.Second},
	} {
		parent, cancel := context.WithTimeout(context.Background(), tc.left)
		ctx, done := ForTailnet(parent)
		pd, _ := parent.Deadline()
		d, ok := ctx.Deadline()
		if got := pd.Sub(d); !ok || got < tc.wantReserve-50*time.Millisecond || got > tc.wantReserve {
			t.Errorf("%s: tailnet deadline %s before the reconcile's, want %s", tc.name, got, tc.wantReserve)
		}
		done()
		cancel()
	}
	ctx, done := ForTailnet(context.Background())
	defer done()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a reconcile without a deadline gave the tailnet one")
	}
}
