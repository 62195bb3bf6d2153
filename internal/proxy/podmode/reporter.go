package podmode

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy"
)

// reporter writes the machine's report into its state Secret under
// pool.StatusKey, following writePolicy.
type reporter struct {
	secret *stateSecret
	node   *tsnet.Server
	engine *proxy.Engine
	policy writePolicy
	log    *slog.Logger
	// ready says whether the machine serves (node up, config applied).
	ready func() bool

	// mu guards what the engine and the main loop tell the reporter. It is
	// never held across I/O: recordSwitch runs under the engine's locks.
	mu         sync.Mutex
	generation string
	refusal    *pool.ConfigRefusal
	failovers  map[string]failover

	// writeMu serializes writes and guards what was last written.
	writeMu   sync.Mutex
	last      *pool.MachineStatus
	lastWrite time.Time
}

// setRefused records a ConfigMap version the engine could not run; the
// error is cut short, as it ends up in the pool's status.
func (r *reporter) setRefused(v string, err error) {
	msg := err.Error()
	if len(msg) > maxRefusalError {
		msg = strings.ToValidUTF8(msg[:maxRefusalError], "") + "…"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refusal = &pool.ConfigRefusal{Generation: v, Error: msg}
}

// maxRefusalError bounds a refusal's error text in the report.
const maxRefusalError = 512

// setGeneration records the ConfigMap version the engine runs: nothing
// is refused any more.
func (r *reporter) setGeneration(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.generation, r.refusal = v, nil
}

// recordSwitch is the engine's OnSwitch hook; it must not call the engine.
func (r *reporter) recordSwitch(service string, sw lb.Switch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failovers == nil {
		r.failovers = map[string]failover{}
	}
	r.failovers[service] = failover{At: sw.At, Reason: sw.Reason}
}

// run refreshes the report every interval until ctx is done.
func (r *reporter) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.refresh(ctx)
		}
	}
}

// refresh writes the report if the policy says so.
func (r *reporter) refresh(ctx context.Context) {
	if err := r.write(ctx, false); err != nil && ctx.Err() == nil {
		r.log.Warn("writing the status report failed", "error", err)
	}
}

// write renders the report and writes it when the policy (or force, which
// overrides the counter throttle) says so.
func (r *reporter) write(ctx context.Context, force bool) error {
	info, err := readNodeInfo(ctx, r.node)
	if err != nil {
		return err
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	now := time.Now()
	next := buildReport(r.input(info, now))
	if !r.policy.shouldWrite(r.last, r.lastWrite, next, now) && !(force && !equalReports(*r.last, next)) {
		return nil
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	err = r.secret.mutate(ctx, func(data map[string][]byte) bool {
		data[pool.StatusKey] = raw
		return true
	})
	if err != nil {
		return err
	}
	r.last, r.lastWrite = &next, now
	return nil
}

// input gathers the report's parts. The engine is asked outside r.mu:
// the engine calls recordSwitch, which takes r.mu, under its own locks.
func (r *reporter) input(info nodeInfo, now time.Time) reportInput {
	in := reportInput{Node: info, Ready: r.ready(), Stats: r.engine.Stats(), Now: now}
	r.mu.Lock()
	defer r.mu.Unlock()
	in.Generation, in.Failovers = r.generation, maps.Clone(r.failovers)
	if r.refusal != nil {
		refusal := *r.refusal
		in.Refused = &refusal
	}
	return in
}
