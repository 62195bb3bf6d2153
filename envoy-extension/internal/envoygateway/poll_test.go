package envoygateway

import (
	"testing"
	"time"
)

// eventually polls check until it reports done, failing the test with
// the last thing check said if the deadline passes first.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, state := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// holds polls check for the whole of d, failing the test as soon as it
// stops holding: how "the previous snapshot stays" is shown.
func holds(t *testing.T, d time.Duration, what string, check func() (ok bool, state string)) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok, state := check(); !ok {
			t.Fatalf("%s: stopped holding: %s", what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
