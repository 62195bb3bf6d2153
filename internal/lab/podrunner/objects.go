package podrunner

import (
	"maps"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podState is what the Pod object of a replica reports.
type podState struct {
	Running    bool // the process is alive (not waiting to restart)
	Ready      bool
	Restarts   int
	StartedAt  time.Time // of the current process
	ReadySince time.Time // last change of Ready
}

// podLabels are the template's labels plus those the StatefulSet
// controller adds, so selectors and kubectl -l work as in a cluster.
func podLabels(sts *appsv1.StatefulSet, ordinal int) map[string]string {
	labels := maps.Clone(sts.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[appsv1.StatefulSetPodNameLabel] = podName(sts.Name, ordinal)
	labels[appsv1.PodIndexLabel] = strconv.Itoa(ordinal)
	return labels
}

// podObject is the Pod a StatefulSet controller would create, already
// bound to the lab's node.
func podObject(sts *appsv1.StatefulSet, ordinal int, nodeName string) *corev1.Pod {
	name := podName(sts.Name, ordinal)
	spec := *sts.Spec.Template.Spec.DeepCopy()
	spec.NodeName = nodeName
	spec.Hostname = name
	spec.Subdomain = sts.Spec.ServiceName
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       sts.Namespace,
			Labels:          podLabels(sts, ordinal),
			Annotations:     maps.Clone(sts.Spec.Template.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		},
		Spec: spec,
	}
}

// podStatus is the status a kubelet would report for the replica.
func podStatus(pod *corev1.Pod, s podState) corev1.PodStatus {
	started := metav1.NewTime(s.StartedAt)
	readySince := metav1.NewTime(s.ReadySince)
	ready := conditionStatus(s.Ready)
	status := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    loopbackIP,
		HostIPs:   []corev1.HostIP{{IP: loopbackIP}},
		PodIP:     podIP(pod.Namespace, pod.Name),
		PodIPs:    []corev1.PodIP{{IP: podIP(pod.Namespace, pod.Name)}},
		StartTime: &pod.CreationTimestamp,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: pod.CreationTimestamp},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: pod.CreationTimestamp},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: readySince},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: readySince},
		},
	}
	for _, c := range pod.Spec.Containers[:1] {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: s.Ready, RestartCount: int32(s.Restarts), Started: &s.Running}
		if s.Running {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "the process exited; restarting with backoff"}
		}
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
	}
	return status
}

func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// statefulSetStatus is the status patch for a StatefulSet whose runner
// has created pods pods, ready of them ready. It is a map, not the typed
// status, because a merge patch must carry zeros that omitempty would drop.
func statefulSetStatus(sts *appsv1.StatefulSet, pods, ready int) map[string]any {
	return map[string]any{"status": map[string]any{
		"observedGeneration": sts.Generation,
		"replicas":           pods,
		"readyReplicas":      ready,
		"availableReplicas":  ready,
		"currentReplicas":    pods,
		"updatedReplicas":    pods,
	}}
}

// statusCurrent says whether the StatefulSet already reports this.
func statusCurrent(sts *appsv1.StatefulSet, pods, ready int) bool {
	s := sts.Status
	return s.ObservedGeneration == sts.Generation && int(s.Replicas) == pods &&
		int(s.ReadyReplicas) == ready && int(s.AvailableReplicas) == ready &&
		int(s.CurrentReplicas) == pods && int(s.UpdatedReplicas) == pods
}
