package lab

import (
	"context"
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
	"tailscale.com/types/logger"
)

// router keeps testcontrol in step with the VIP services of a
// ServiceSource: it converges control's per-node capabilities, routes and
// DNS records on what the pure choosePrimaries decides, on every change of
// services, policy, node advertisement or node liveness, and on a short
// backstop interval.
type router struct {
	control  *testcontrol.Server
	sessions *sessions
	domain   string
	logf     logger.Logf
	interval time.Duration
	wake     chan struct{}

	mu          sync.Mutex
	source      ServiceSource
	unsubscribe func()
	changes     <-chan struct{}
	deleted     map[tailcfg.StableNodeID]bool
	current     map[string]tailcfg.StableNodeID   // published primaries
	routes      map[key.NodePublic][]netip.Prefix // published VIP routes

	// Owned by the run goroutine.
	ads       advertisements
	primaries map[string]tailcfg.StableNodeID
	applied   map[key.NodePublic]hostConfig
	dns       *controlDNS
	dnsSent   []tailcfg.DNSRecord
}

func newRouter(control *testcontrol.Server, s *sessions, wake chan struct{},
	domain string, interval time.Duration, logf logger.Logf,
) (*router, error) {
	dns, err := newControlDNS(control)
	if err != nil {
		return nil, err
	}
	return &router{
		control:  control,
		sessions: s,
		domain:   domain,
		logf:     logf,
		interval: interval,
		wake:     wake,
		deleted:  map[tailcfg.StableNodeID]bool{},
		ads:      advertisements{control: control, logf: logf},
		applied:  map[key.NodePublic]hostConfig{},
		dns:      dns,
	}, nil
}

// poke asks for a reconcile soon; pokes coalesce.
func (r *router) poke() { poke(r.wake) }

func poke(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// setSource replaces the service source and subscribes to its changes.
func (r *router) setSource(src ServiceSource) {
	r.mu.Lock()
	if r.unsubscribe != nil {
		r.unsubscribe()
	}
	r.source = src
	r.changes, r.unsubscribe = src.Subscribe()
	r.mu.Unlock()
	r.poke()
}

func (r *router) run(ctx context.Context) {
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	defer r.stopSubscription()
	for {
		r.mu.Lock()
		changes := r.changes
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-changes:
		case <-ticker.C:
		}
		r.reconcile(ctx)
	}
}

func (r *router) stopSubscription() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unsubscribe != nil {
		r.unsubscribe()
	}
}

// reconcile gathers the world, decides, and applies the difference.
func (r *router) reconcile(ctx context.Context) {
	services, approvers := r.desired()
	nodes := r.control.AllNodes()
	hosts := r.hostStates(ctx, nodes)
	r.primaries = choosePrimaries(services, hosts, approvers, r.primaries)
	r.apply(nodes, hostConfigs(services, r.primaries))
	r.setDNSRecords(services)
	r.forgetDeleted(nodes)
	r.publish()
}

func (r *router) desired() ([]VIPService, map[string][]string) {
	r.mu.Lock()
	src := r.source
	r.mu.Unlock()
	if src == nil {
		return nil, nil
	}
	return src.Services(), src.ServiceApprovers()
}

func (r *router) hostStates(ctx context.Context, nodes []*tailcfg.Node) []hostState {
	advertised := r.ads.refresh(ctx, nodes, r.sessions.online)
	r.mu.Lock()
	defer r.mu.Unlock()
	hosts := make([]hostState, 0, len(nodes))
	for _, n := range nodes {
		hosts = append(hosts, hostState{
			ID:         n.StableID,
			Tags:       n.Tags,
			Online:     r.sessions.online(n.Key) && !r.deleted[n.StableID],
			Advertised: advertised[n.Key],
		})
	}
	return hosts
}

// apply pushes to control only what differs from what it last pushed.
func (r *router) apply(nodes []*tailcfg.Node, configs map[tailcfg.StableNodeID]hostConfig) {
	for _, n := range nodes {
		want := configs[n.StableID]
		if want.equal(r.applied[n.Key]) {
			continue
		}
		r.pushHostConfig(n.Key, want)
		if len(want.Services) == 0 {
			delete(r.applied, n.Key)
		} else {
			r.applied[n.Key] = want
		}
	}
}

func (r *router) pushHostConfig(nk key.NodePublic, cfg hostConfig) {
	if len(cfg.Services) == 0 {
		r.control.SetNodeCapMap(nk, nil)
		r.control.SetSubnetRoutes(nk, nil)
		return
	}
	mappings, err := json.Marshal(cfg.Services)
	if err != nil {
		r.logf("lab: encoding service-host capability: %v", err)
		return
	}
	r.control.SetNodeCapMap(nk, tailcfg.NodeCapMap{
		tailcfg.NodeAttrServiceHost: []tailcfg.RawMessage{tailcfg.RawMessage(mappings)},
	})
	r.control.SetSubnetRoutes(nk, cfg.Routes)
}

// setDNSRecords makes control's MagicDNS records those of the services
// that exist, so a deleted service's name stops resolving with the next
// netmap, as with production control.
func (r *router) setDNSRecords(services []VIPService) {
	services = slices.Clone(services)
	slices.SortFunc(services, func(a, b VIPService) int { return strings.Compare(a.Name, b.Name) })
	want := serviceDNSRecords(services, r.domain)
	if slices.Equal(want, r.dnsSent) {
		return
	}
	r.dns.set(want)
	r.dnsSent = want
}

// forgetDeleted re-applies forget to deleted nodes that a map update
// racing with DeleteDevice gave their name or addresses back.
func (r *router) forgetDeleted(nodes []*tailcfg.Node) {
	for _, n := range nodes {
		if r.isDeleted(n.StableID) && !forgotten(n) {
			forget(r.control, n.Key)
		}
	}
}

func (r *router) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = maps.Clone(r.primaries)
	r.routes = map[key.NodePublic][]netip.Prefix{}
	for nk, cfg := range r.applied {
		r.routes[nk] = cfg.Routes
	}
}

// enabledRoutes returns the VIP routes control gives a node.
func (r *router) enabledRoutes(nk key.NodePublic) []netip.Prefix {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.routes[nk]
}

// primary returns the node currently hosting a VIP service.
func (r *router) primary(service string) (tailcfg.StableNodeID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.current[service]
	return id, ok
}

// markDeleted stops routing to a node the API deleted.
func (r *router) markDeleted(id tailcfg.StableNodeID) {
	r.mu.Lock()
	r.deleted[id] = true
	r.mu.Unlock()
	r.poke()
}

func (r *router) isDeleted(id tailcfg.StableNodeID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deleted[id]
}
