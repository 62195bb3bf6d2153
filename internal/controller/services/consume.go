package services

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// registryAttempts bounds the read-modify-write rounds on a registry.
const registryAttempts = 8

// settle is how long a written registry must survive before a write counts:
// longer than a racing operator's read-to-write window, so a write based on
// a read from before ours shows up in the second check.
const settle = 200 * time.Millisecond

// consume puts this operator in the registry of another operator's VIP
// service, changing nothing else of it. The API has no conditional write
// for VIP services, so each write is verified by reading the service
// again, twice, the second time after a jittered settling pause; a lost
// race is retried after a jittered pause. Every resync checks again, so a
// race lost after all that is repaired within one resync.
func (r *Reconciler) consume(ctx context.Context, api tsapi.Client, name string, me coordination.Entry, o *planner.Observed) error {
	return updateRegistry(ctx, api, name, func(reg coordination.Registry) coordination.Registry {
		next := coordination.Attach(reg, me, o.Now.Time)
		o.Registry = &next
		return next
	}, func(svc tsapi.VIPService) { o.VIP = &svc })
}

// updateRegistry applies change to the registry of a VIP service until a
// fresh read shows the change has nothing left to do. Only the registry
// annotation is written; everything else is sent back as read.
func updateRegistry(ctx context.Context, api tsapi.Client, name string,
	change func(coordination.Registry) coordination.Registry, seen func(tsapi.VIPService)) error {
	for attempt := range registryAttempts {
		svc, err := api.GetVIPService(ctx, name)
		if err != nil {
			return err
		}
		seen(svc)
		reg, _, err := coordination.Parse(svc.Annotations)
		if err != nil {
			return err
		}
		next := change(reg)
		if next.Render() == reg.Render() {
			return nil // nothing to write: steady state
		}
		svc.Annotations[coordination.Annotation] = next.Render()
		if _, err := api.PutVIPService(ctx, svc); err != nil {
			return fmt.Errorf("writing the registry of VIP service %s: %w", name, err)
		}
		log.FromContext(ctx).Info("wrote VIP service registry", "vipService", name, "registry", next.Render())
		held, err := holds(ctx, api, name, change, seen)
		if err != nil {
			return err
		}
		if held {
			if err := sleep(ctx, settle+jitter(settle)); err != nil {
				return err
			}
			if held, err = holds(ctx, api, name, change, seen); held || err != nil {
				return err
			}
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
	return errors.New("the VIP service's registry kept changing under us; trying again later")
}

// holds reads the registry again and reports whether the change has
// nothing left to do.
func holds(ctx context.Context, api tsapi.Client, name string,
	change func(coordination.Registry) coordination.Registry, seen func(tsapi.VIPService)) (bool, error) {
	check, err := api.GetVIPService(ctx, name)
	if err != nil {
		return false, err
	}
	reg, _, err := coordination.Parse(check.Annotations)
	if err != nil || change(reg).Render() != reg.Render() {
		return false, err
	}
	seen(check)
	return true, nil
}

// pause waits a jittered, growing time so that racing operators diverge.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(50*(1<<min(attempt, 5))) * time.Millisecond
	return sleep(ctx, d+jitter(d))
}

func jitter(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d))) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
