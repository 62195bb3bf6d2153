//go:build !linux

package proxy

// newEventLoops: elsewhere than on Linux, every connection gets goroutines.
func newEventLoops(*Engine) (eventLoops, error) { return nil, nil }
