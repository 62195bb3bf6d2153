//go:build !linux

package eventloop

import (
	"context"
	"syscall"
)

// RawConnect leaves connecting to Go elsewhere than on Linux.
func RawConnect(context.Context, string, string, syscall.RawConn) error { return nil }
