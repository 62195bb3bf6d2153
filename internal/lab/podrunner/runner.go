package podrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// workers sync that many StatefulSets at once; a scale-down waits for
// its processes to exit, which must not hold up the others.
const workers = 4

// Runner runs the replicas of StatefulSets as local processes until Stop.
type Runner struct {
	opts    Options
	kube    kubernetes.Interface
	spawner *spawner
	queue   workqueue.TypedRateLimitingInterface[string]
	lister  appslisters.StatefulSetLister
	factory informers.SharedInformerFactory
	// pods and podFactory watch every Pod of the namespace(s): Pods carry
	// their template's labels, not the StatefulSets' the selector picks.
	pods       corelisters.PodLister
	podFactory informers.SharedInformerFactory
	cancel     context.CancelFunc
	workersWG  sync.WaitGroup
	stderrMu   sync.Mutex

	mu       sync.Mutex
	replicas map[string]map[int]*replica // by StatefulSet namespace/name, then ordinal
	stopped  bool
}

// Start watches the StatefulSets and runs their replicas until Stop. ctx
// bounds only the start-up (the first list of StatefulSets).
func Start(ctx context.Context, opts Options) (*Runner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := labels.Parse(opts.Selector); err != nil {
		return nil, fmt.Errorf("podrunner: selector: %w", err)
	}
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	r := &Runner{
		opts:     opts,
		kube:     kube,
		spawner:  newSpawner(),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		replicas: map[string]map[int]*replica{},
	}
	if err := r.watch(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

func (r *Runner) watch(ctx context.Context) error {
	r.factory = informers.NewSharedInformerFactoryWithOptions(r.kube, 30*time.Second,
		informers.WithNamespace(r.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = r.opts.Selector }))
	inf := r.factory.Apps().V1().StatefulSets()
	r.lister = inf.Lister()
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.enqueue,
		UpdateFunc: func(_, obj any) { r.enqueue(obj) },
		DeleteFunc: r.enqueue,
	}); err != nil {
		return err
	}
	pods, err := r.watchPods()
	if err != nil {
		return err
	}
	r.pods = pods
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, f := range []informers.SharedInformerFactory{r.factory, r.podFactory} {
		f.Start(runCtx.Done())
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return fmt.Errorf("podrunner: listing %v: %w", typ, context.Cause(ctx))
			}
		}
	}
	for range workers {
		r.workersWG.Go(func() {
			for r.processNext(runCtx) {
			}
		})
	}
	return nil
}

func (r *Runner) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		r.queue.Add(key)
	}
}

func (r *Runner) processNext(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if err := r.sync(ctx, key); err != nil {
		r.opts.Logf("StatefulSet %s: %v", key, err)
		r.queue.AddRateLimited(key)
		return true
	}
	r.queue.Forget(key)
	return true
}

// output is where a replica's output goes: its log file and, if asked,
// the shared stderr with a prefix.
func (r *Runner) output(path, label string) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil || r.opts.Stderr == nil {
		return f, err
	}
	prefixed := &linePrefixer{mu: &r.stderrMu, w: r.opts.Stderr, prefix: "[" + label + "] "}
	return struct {
		io.Writer
		io.Closer
	}{io.MultiWriter(f, prefixed), f}, nil
}

// Running maps each running pod ("namespace/name") to its process ID.
func (r *Runner) Running() map[string]int {
	out := map[string]int{}
	for _, rep := range r.Replicas() {
		if rep.PID != 0 {
			out[rep.Namespace+"/"+rep.Pod] = rep.PID
		}
	}
	return out
}

// Replicas describes every replica, sorted by namespace and pod name.
func (r *Runner) Replicas() []Replica {
	r.mu.Lock()
	var out []Replica
	for _, byOrdinal := range r.replicas {
		for _, rep := range byOrdinal {
			snap, _ := rep.snapshot()
			out = append(out, snap)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Replica) int {
		return strings.Compare(a.Namespace+"/"+a.Pod, b.Namespace+"/"+b.Pod)
	})
	return out
}

// Stop stops watching, terminates every process (SIGTERM, then SIGKILL
// after the grace period), waits for them to exit and deletes their Pod
// objects. It is safe to call more than once.
func (r *Runner) Stop() error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	r.queue.ShutDown()
	r.workersWG.Wait()
	for _, f := range []informers.SharedInformerFactory{r.factory, r.podFactory} {
		if f != nil {
			f.Shutdown()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for key, ordinals := range r.allOrdinals() {
		wg.Go(func() {
			err := errors.Join(r.stopReplicas(ctx, key, ordinals), r.reportGone(ctx, key))
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	r.spawner.close()
	return errors.Join(errs...)
}

func (r *Runner) allOrdinals() map[string][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int{}
	for key, byOrdinal := range r.replicas {
		for i := range byOrdinal {
			out[key] = append(out[key], i)
		}
	}
	return out
}
