package eventloop

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Ping answers while every loop runs, and fails (without waiting longer
// than its context) when a loop is stuck or has stopped.
func TestPing(t *testing.T) {
	g, err := New(newFakeEngine(t), Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Ping(t.Context()); err != nil {
		t.Fatalf("running loops: %v", err)
	}

	release := make(chan struct{})
	g.loops[1].post(func() { <-release }) // a loop stuck in a handler
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := g.Ping(ctx); err == nil || !strings.Contains(err.Error(), "event loop 2 of 2 did not answer") {
		t.Errorf("a stuck loop: Ping = %v", err)
	}
	close(release)
	if err := g.Ping(t.Context()); err != nil {
		t.Errorf("after the loop moved on: %v", err)
	}

	g.loops[0].stop() // as if it had exited on an epoll error
	if err := g.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "event loop 1 of 2 has stopped") {
		t.Errorf("a stopped loop: Ping = %v", err)
	}
	g.Close()
}
