package podrunner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// The runner is the lab's kubelet as well as its StatefulSet controller.
// A Pod it runs that someone deletes (kubectl delete pod, or the namespace
// controller emptying a namespace, which in this Kubernetes release deletes
// the pods first and waits until they are gone before it deletes the rest)
// gets its process stopped and its
// deletion confirmed, as a kubelet would; the next sync starts the replica
// again, as a StatefulSet controller would, unless its namespace is being
// deleted.

// watchPods feeds the sync of a StatefulSet with the changes of its Pods.
func (r *Runner) watchPods() (corelisters.PodLister, error) {
	r.podFactory = informers.NewSharedInformerFactoryWithOptions(r.kube, 30*time.Second,
		informers.WithNamespace(r.opts.Namespace))
	inf := r.podFactory.Core().V1().Pods()
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { r.enqueueOwner(obj) },
		DeleteFunc: r.enqueueOwner,
	})
	return inf.Lister(), err
}

// enqueueOwner queues the StatefulSet that controls a Pod.
func (r *Runner) enqueueOwner(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "StatefulSet" {
		r.queue.Add(pod.Namespace + "/" + ref.Name)
	}
}

// deletedPods are the ordinals of key's replicas whose own Pod (same UID)
// is being deleted.
func (r *Runner) deletedPods(key string) []int {
	var out []int
	for _, rep := range r.replicasOf(key) {
		if rep.pod == nil {
			continue
		}
		pod, err := r.pods.Pods(rep.Namespace).Get(rep.Pod)
		if err == nil && pod.UID == rep.pod.UID && pod.DeletionTimestamp != nil {
			out = append(out, rep.Ordinal)
		}
	}
	return out
}

// namespaceTerminating says whether no replica may start in ns: a
// terminating namespace admits no new Pod.
func (r *Runner) namespaceTerminating(ctx context.Context, ns string) (bool, error) {
	n, err := r.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	return n.Status.Phase == corev1.NamespaceTerminating || n.DeletionTimestamp != nil, nil
}
