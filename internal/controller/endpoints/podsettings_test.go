package endpoints

import (
	"errors"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// A pool's pod settings reach its StatefulSet as the API server stores
// it, a change to them rolls it, and once applied nothing is rewritten
// (the API server's defaults inside them never look like drift).
func TestPodSettingsReachTheStatefulSet(t *testing.T) {
	l := startLab(t)
	ep := webPool("web", "lab", 2)
	ep.Spec.Proxy.Pod = poolWithPodSettings().Spec.Proxy.Pod
	l.create(t, ep)
	l.createBackend(t, "web")

	sts := &appsv1.StatefulSet{}
	eventually(t, "StatefulSet with the pod settings", func() error {
		if err := l.exists(sts, "web"); err != nil {
			return err
		}
		pod := sts.Spec.Template
		if pod.Labels["team"] != "payments" || pod.Annotations["prometheus.io/scrape"] != "true" || pod.Spec.PriorityClassName != "edge-critical" ||
			len(pod.Spec.Tolerations) != 1 || pod.Spec.Affinity == nil || pod.Spec.NodeSelector["node-role/edge"] != "true" ||
			pod.Spec.Containers[0].Resources.Limits.Memory().String() != "1Gi" ||
			len(pod.Spec.TopologySpreadConstraints) != 1 || pod.Spec.TopologySpreadConstraints[0].LabelSelector == nil {
			return fmt.Errorf("pod template %+v", pod)
		}
		return nil
	})

	l.updatePool(t, "web", func(ep *gatewayv1alpha1.TailscaleEndpoints) {
		ep.Spec.Proxy.Pod.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
		ep.Spec.Proxy.Pod.Tolerations = append(ep.Spec.Proxy.Pod.Tolerations, corev1.Toleration{Key: "spot", Operator: corev1.TolerationOpExists})
	})
	eventually(t, "the change applied", func() error {
		if err := l.exists(sts, "web"); err != nil {
			return err
		}
		if _, edge := sts.Spec.Template.Spec.NodeSelector["node-role/edge"]; edge || len(sts.Spec.Template.Spec.Tolerations) != 2 {
			return fmt.Errorf("nodeSelector %v, tolerations %v", sts.Spec.Template.Spec.NodeSelector, sts.Spec.Template.Spec.Tolerations)
		}
		return nil
	})
	l.waitCondition(t, "web", gatewayv1alpha1.ConditionReady, metav1.ConditionTrue, gatewayv1alpha1.ReasonPoolReady)

	writes := len(l.log.Writes())
	before := reconciles(t, "")
	l.updatePool(t, "web", func(ep *gatewayv1alpha1.TailscaleEndpoints) {
		metav1.SetMetaDataAnnotation(&ep.ObjectMeta, "test/resync", "1")
	})
	eventually(t, "a reconcile", func() error {
		if reconciles(t, "") <= before {
			return errors.New("not yet")
		}
		return nil
	})
	if got := l.log.Writes()[writes:]; len(got) != 0 {
		t.Errorf("writes in steady state: %v", got)
	}
}
