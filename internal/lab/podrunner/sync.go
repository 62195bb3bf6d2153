package podrunner

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// sync makes the processes of one StatefulSet match it, then reports
// them as Pods and as the StatefulSet's status. A deleted StatefulSet
// gets its processes stopped; a deleted Pod gets its process stopped and
// started again (see kubelet.go).
func (r *Runner) sync(ctx context.Context, key string) error {
	sts, err := r.statefulSet(key)
	if err != nil {
		return err
	}
	launches, err := desiredLaunches(sts, r.opts.NodeName)
	if err != nil {
		return err
	}
	if err := r.stopReplicas(ctx, key, r.outdated(key, launches)); err != nil {
		return err
	}
	if err := r.stopReplicas(ctx, key, r.deletedPods(key)); err != nil {
		return err
	}
	start, stop := scale(r.ordinals(key), len(launches))
	if err := r.stopReplicas(ctx, key, stop); err != nil {
		return err
	}
	if len(start) > 0 {
		if terminating, err := r.namespaceTerminating(ctx, sts.Namespace); err != nil || terminating {
			return err // a terminating namespace admits no new Pod
		}
	}
	for _, i := range start {
		if err := r.startReplica(key, sts, i, launches[i]); err != nil {
			return err
		}
	}
	if sts == nil {
		return nil
	}
	if err := r.reportPods(ctx, key, sts); err != nil {
		return err
	}
	return r.reportStatus(ctx, key, sts)
}

// statefulSet is the StatefulSet of key, nil if it is gone (or no longer
// selected).
func (r *Runner) statefulSet(key string) (*appsv1.StatefulSet, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, err
	}
	sts, err := r.lister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return sts, err
}

// desiredLaunches are the launches of the replicas sts asks for, by
// ordinal; none for a deleted StatefulSet.
func desiredLaunches(sts *appsv1.StatefulSet, nodeName string) ([]launch, error) {
	if sts == nil {
		return nil, nil
	}
	n := int(ptr.Deref(sts.Spec.Replicas, 1))
	out := make([]launch, n)
	for i := range n {
		l, err := podLaunch(sts, i, nodeName)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// outdated are the running replicas whose pod template changed: a
// StatefulSet controller would replace their pods.
func (r *Runner) outdated(key string, launches []launch) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for i, rep := range r.replicas[key] {
		if i < len(launches) && !rep.launch.equal(launches[i]) {
			out = append(out, i)
		}
	}
	return out
}

func (r *Runner) ordinals(key string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Keys(r.replicas[key]))
}

func (r *Runner) startReplica(key string, sts *appsv1.StatefulSet, ordinal int, l launch) error {
	rep, err := newReplica(r, sts, ordinal, l)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		rep.out.Close()
		return errSpawnerClosed
	}
	if r.replicas[key] == nil {
		r.replicas[key] = map[int]*replica{}
	}
	r.replicas[key][ordinal] = rep
	rep.start()
	return nil
}

// stopReplicas stops the given replicas together, waits for their
// processes to exit, then deletes their Pods.
func (r *Runner) stopReplicas(ctx context.Context, key string, ordinals []int) error {
	reps := r.take(key, ordinals)
	var wg sync.WaitGroup
	for _, rep := range reps {
		wg.Go(rep.stop)
	}
	wg.Wait()
	// The processes are gone: their Pods must go too, even when Stop has
	// cancelled the sync that stopped them.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	for _, rep := range reps {
		errs = append(errs, r.deletePod(ctx, rep))
	}
	return errors.Join(errs...)
}

// take removes replicas from the runner's books.
func (r *Runner) take(key string, ordinals []int) []*replica {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*replica
	for _, i := range ordinals {
		if rep, ok := r.replicas[key][i]; ok {
			out = append(out, rep)
			delete(r.replicas[key], i)
		}
	}
	if len(r.replicas[key]) == 0 {
		delete(r.replicas, key)
	}
	return out
}

// replicasOf are the current replicas of a StatefulSet.
func (r *Runner) replicasOf(key string) []*replica {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.replicas[key]))
}
