package proxy

import "github.com/tailscale-gateway/tailscale-gateway/internal/eventloop"

// newEventLoops starts the event loops, which serve host-network listeners
// on Linux.
func newEventLoops(e *Engine) (eventLoops, error) {
	g, err := eventloop.New((*loopEngine)(e), eventloop.Config{
		Loops: e.eventLoopCount(), Logger: e.opts.Logger, ListenerOptions: setListenerOptions})
	if err != nil {
		return nil, err
	}
	return g, nil
}
