package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"tailscale.com/ipn"
	"tailscale.com/ipn/store/mem"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsnetstack"
)

// NodeOptions describes a node to join to the lab.
type NodeOptions struct {
	// Hostname is the node's name; its MagicDNS name is Hostname.<domain>.
	Hostname string
	// Tags the node requests (tsnet.Server.AdvertiseTags); control grants
	// them. If empty and AuthKey is set, the key's tags are used.
	Tags []string
	// AuthKey is checked by Options.AuthKeys when the lab has one.
	AuthKey string
	// Ephemeral makes an ephemeral node.
	Ephemeral bool
	// Dir is the node's state directory; a fresh one under the lab's
	// state directory if empty.
	Dir string
	// Store holds the node's state; if nil, in memory for an ephemeral
	// node without Dir, else tsnet's file store in Dir.
	Store ipn.StateStore
}

// ErrClosed is returned by NewNode after Close.
var ErrClosed = errors.New("lab is closed")

// AuthKeys decides which auth keys admit a node (see FromEmulatorKeys).
type AuthKeys interface {
	// Admit checks key, consuming it if single-use, and returns the tags
	// it grants. It fails for unknown, expired, revoked or used keys.
	Admit(key string) (tags []string, err error)
}

// NewNode starts a tsnet node in the lab and waits until it is running,
// accepts routes (so VIP services reach it) and has reached the DERP
// relay. The lab closes it on Close unless the caller does so first.
func (l *Lab) NewNode(ctx context.Context, o NodeOptions) (*tsnet.Server, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	tags, err := l.admit(o)
	if err != nil {
		return nil, err
	}
	s, err := l.newServer(o, tags)
	if err != nil {
		return nil, err
	}
	// A tsnet.Server that failed to start must not be closed (it panics).
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("lab node %s: %w", o.Hostname, err)
	}
	if err := l.track(s); err != nil {
		s.Close()
		return nil, err
	}
	// Lab nodes stand for tailnet devices, whose Linux TCP would accept a
	// new SYN on the ports of a connection in TIME-WAIT; netstack drops it.
	if err := tsnetstack.ShortenTimeWait(s); err != nil {
		s.Close()
		return nil, fmt.Errorf("lab node %s: %w", o.Hostname, err)
	}
	if err := bringUp(ctx, s); err != nil {
		s.Close()
		return nil, fmt.Errorf("lab node %s: %w", o.Hostname, err)
	}
	return s, nil
}

// SetAuthKeys makes NewNode admit nodes with keys (replacing Options.AuthKeys).
func (l *Lab) SetAuthKeys(keys AuthKeys) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.authKeys = keys
}

func (l *Lab) admit(o NodeOptions) ([]string, error) {
	l.mu.Lock()
	keys := l.authKeys
	l.mu.Unlock()
	if keys == nil || o.AuthKey == "" {
		// Keyless nodes (test clients, the SOCKS5 node) are a lab convenience.
		return o.Tags, nil
	}
	keyTags, err := keys.Admit(o.AuthKey)
	if err != nil {
		return nil, fmt.Errorf("lab node %s: auth key refused: %w", o.Hostname, err)
	}
	if len(o.Tags) > 0 {
		return o.Tags, nil
	}
	return keyTags, nil
}

func (l *Lab) newServer(o NodeOptions, tags []string) (*tsnet.Server, error) {
	if o.Hostname == "" {
		return nil, errors.New("lab node: Hostname is required")
	}
	store := o.Store
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp(l.stateDir, o.Hostname+"-")
		if err != nil {
			return nil, fmt.Errorf("lab node %s: %w", o.Hostname, err)
		}
		dir = d
		if store == nil && o.Ephemeral {
			store = new(mem.Store) // tsnet allows it for ephemeral nodes only
		}
	}
	logf := l.opts.Logf
	return &tsnet.Server{
		Dir:           dir,
		Store:         store,
		Hostname:      o.Hostname,
		ControlURL:    l.ControlURL(),
		Ephemeral:     o.Ephemeral,
		AdvertiseTags: tags,
		AuthKey:       o.AuthKey,
		Logf:          func(f string, a ...any) { logf(o.Hostname+": "+f, a...) },
		UserLogf:      func(f string, a ...any) { logf(o.Hostname+": "+f, a...) },
	}, nil
}

func (l *Lab) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *Lab) track(s *tsnet.Server) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.nodes = append(l.nodes, s)
	return nil
}

func bringUp(ctx context.Context, s *tsnet.Server) error {
	if _, err := s.Up(ctx); err != nil {
		return err
	}
	if err := acceptRoutes(ctx, s); err != nil {
		return err
	}
	return waitHomeDERP(ctx, s)
}

// acceptRoutes is "tailscale up --accept-routes": VIP services reach
// clients as routes to their hosts, which Linux nodes ignore by default.
func acceptRoutes(ctx context.Context, s *tsnet.Server) error {
	lc, err := s.LocalClient()
	if err != nil {
		return err
	}
	_, err = lc.EditPrefs(ctx, &ipn.MaskedPrefs{
		RouteAllSet: true,
		Prefs:       ipn.Prefs{RouteAll: true},
	})
	return err
}

// waitHomeDERP waits until the node has a home DERP region and heard from
// it: until then the relay drops peers' first packets to it, and an early
// dial can stall for seconds (tsnet's own tests wait the same way).
func waitHomeDERP(ctx context.Context, s *tsnet.Server) error {
	health := s.Sys().HealthTracker.Get()
	magicsock := s.Sys().MagicSock.Get()
	for {
		if r := magicsock.GetLastNetcheckReport(ctx); r != nil && r.PreferredDERP != 0 &&
			!health.GetDERPRegionReceivedTime(r.PreferredDERP).IsZero() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the DERP relay: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
