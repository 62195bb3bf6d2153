package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"
)

// c2nTimeout bounds one "GET /vip-services" round trip to a node.
const c2nTimeout = 5 * time.Second

// advertisement is what a node said it advertises, and under which
// Hostinfo.ServicesHash it said so.
type advertisement struct {
	hash     string
	services []string
}

// advertisements learns which VIP services nodes advertise the way
// production control does: a node reports only a hash of its VIP services
// in Hostinfo.ServicesHash (ipnlocal's maybeUpdateHostinfoServicesHashLocked);
// when the hash changes, control asks the node over c2n for the list.
// It is used by the router goroutine only.
type advertisements struct {
	control *testcontrol.Server
	logf    func(string, ...any)
	known   map[key.NodePublic]advertisement
}

// refresh returns the services each online node advertises, asking (in
// parallel) the nodes whose hash changed since they were last asked.
func (a *advertisements) refresh(ctx context.Context, nodes []*tailcfg.Node, online func(key.NodePublic) bool) map[key.NodePublic][]string {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		fetched = map[key.NodePublic]advertisement{}
	)
	for _, n := range nodes {
		hash := n.Hostinfo.ServicesHash()
		if hash == "" || a.known[n.Key].hash == hash || !online(n.Key) {
			continue
		}
		wg.Go(func() {
			services, err := a.fetch(ctx, n.Key)
			if err != nil {
				a.logf("lab: asking %s for its VIP services: %v", n.Name, err)
				return
			}
			a.logf("lab: %s advertises VIP services %v", n.Name, services)
			mu.Lock()
			fetched[n.Key] = advertisement{hash: hash, services: services}
			mu.Unlock()
		})
	}
	wg.Wait()
	return a.update(nodes, fetched)
}

// update merges fresh answers into what is known and forgets nodes that
// advertise nothing, then reports the current advertisement of each node.
func (a *advertisements) update(nodes []*tailcfg.Node, fetched map[key.NodePublic]advertisement) map[key.NodePublic][]string {
	if a.known == nil {
		a.known = map[key.NodePublic]advertisement{}
	}
	for nk, ad := range fetched {
		a.known[nk] = ad
	}
	out := map[key.NodePublic][]string{}
	for _, n := range nodes {
		hash := n.Hostinfo.ServicesHash()
		ad, ok := a.known[n.Key]
		switch {
		case hash == "":
			delete(a.known, n.Key)
		case ok && ad.hash == hash:
			out[n.Key] = ad.services
		}
	}
	return out
}

// fetch asks a node for its VIP services over c2n and keeps the active
// ones: those the node advertises, not merely has serve config for.
func (a *advertisements) fetch(ctx context.Context, nk key.NodePublic) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c2nTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://node/vip-services", nil)
	if err != nil {
		return nil, err
	}
	res, err := a.control.NodeRoundTripper(nk).RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("c2n GET /vip-services: %s", res.Status)
	}
	var body tailcfg.C2NVIPServicesResponse
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decoding c2n /vip-services: %w", err)
	}
	var active []string
	for _, svc := range body.VIPServices {
		if svc.Active {
			active = append(active, svc.Name.String())
		}
	}
	return active, nil
}
