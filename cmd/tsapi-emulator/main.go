// Command tsapi-emulator serves the Tailscale API emulator on its own, for
// `make dev` and manual testing. Faults and the request log are under
// /emulator/ (see package apiemulator); serve it on loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

type flags struct {
	listen, clientID, clientSecret, tailnetDomain string
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("tsapi-emulator", flag.ContinueOnError)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8088", "address to serve the API on")
	fs.StringVar(&f.clientID, "client-id", "", "OAuth client ID to accept (required)")
	fs.StringVar(&f.clientSecret, "client-secret", "", "OAuth client secret to accept (required)")
	fs.StringVar(&f.tailnetDomain, "tailnet-domain", "tail0000.ts.net", "MagicDNS domain of the emulated tailnet")
	if err := fs.Parse(args); err != nil {
		return flags{}, err
	}
	if f.clientID == "" || f.clientSecret == "" {
		return flags{}, errors.New("--client-id and --client-secret are required")
	}
	return f, nil
}

func main() {
	f, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsapi-emulator:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f, nil); err != nil {
		slog.Error("tsapi-emulator failed", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, if set, receives the bound address.
func run(ctx context.Context, f flags, ready chan<- string) error {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	emu := apiemulator.New(apiemulator.Options{
		ClientID: f.clientID, ClientSecret: f.clientSecret, TailnetDomain: f.tailnetDomain,
	})
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	slog.Info("Tailscale API emulator listening", "url", "http://"+ln.Addr().String(), "tailnetDomain", f.tailnetDomain)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}
