package podrunner

import (
	"context"
	"encoding/json"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The Pod objects and StatefulSet status are written only by the worker
// syncing that StatefulSet (the queue never hands one key to two
// workers), or by Stop once the workers are done; so replica.pod and
// replica.written need no lock.

// reportPods creates the Pod of every replica that has none and updates
// the status of those whose state changed.
func (r *Runner) reportPods(ctx context.Context, key string, sts *appsv1.StatefulSet) error {
	var errs []error
	for _, rep := range r.replicasOf(key) {
		errs = append(errs, r.reportPod(ctx, sts, rep))
	}
	return errors.Join(errs...)
}

func (r *Runner) reportPod(ctx context.Context, sts *appsv1.StatefulSet, rep *replica) error {
	_, state := rep.snapshot()
	if rep.pod == nil {
		pod, err := r.createPod(ctx, podObject(sts, rep.Ordinal, r.opts.NodeName))
		if err != nil {
			return err
		}
		rep.pod = pod
	}
	if rep.written != nil && *rep.written == state {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": podStatus(rep.pod, state)})
	if err != nil {
		return err
	}
	if _, err := r.kube.CoreV1().Pods(rep.Namespace).Patch(ctx, rep.Pod, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return err
	}
	rep.written = &state
	return nil
}

// createPod creates the Pod, replacing one left by an earlier runner.
func (r *Runner) createPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := r.kube.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return created, err
	}
	if err := pods.Delete(ctx, pod.Name, *metav1.NewDeleteOptions(0)); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	return pods.Create(ctx, pod, metav1.CreateOptions{})
}

// deletePod deletes a stopped replica's Pod at once: no kubelet would
// ever confirm a graceful deletion.
func (r *Runner) deletePod(ctx context.Context, rep *replica) error {
	if rep.pod == nil {
		return nil
	}
	opts := metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(rep.pod.UID))
	err := r.kube.CoreV1().Pods(rep.Namespace).Delete(ctx, rep.Pod, *opts)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or already replaced by someone else
	}
	return err
}

// reportStatus sets the StatefulSet's replica counts from its Pods.
func (r *Runner) reportStatus(ctx context.Context, key string, sts *appsv1.StatefulSet) error {
	pods, ready := 0, 0
	for _, rep := range r.replicasOf(key) {
		if rep.pod != nil {
			pods++
		}
		if rep.written != nil && rep.written.Ready {
			ready++
		}
	}
	if statusCurrent(sts, pods, ready) {
		return nil
	}
	return r.patchStatus(ctx, sts, pods, ready)
}

// reportGone says, on Stop, that the StatefulSet has no pods any more.
func (r *Runner) reportGone(ctx context.Context, key string) error {
	sts, err := r.statefulSet(key)
	if err != nil || sts == nil {
		return err
	}
	return r.patchStatus(ctx, sts, 0, 0)
}

func (r *Runner) patchStatus(ctx context.Context, sts *appsv1.StatefulSet, pods, ready int) error {
	patch, err := json.Marshal(statefulSetStatus(sts, pods, ready))
	if err != nil {
		return err
	}
	_, err = r.kube.AppsV1().StatefulSets(sts.Namespace).Patch(ctx, sts.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
