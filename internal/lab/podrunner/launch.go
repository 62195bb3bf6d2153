package podrunner

import (
	"fmt"
	"os"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// loopbackIP is the host IP the lab reports: every process runs here.
const loopbackIP = "127.0.0.1"

// launch is what a replica's process is started with, besides the flags
// the runner adds. A replica whose launch changes is restarted.
type launch struct {
	Args []string
	Env  []string // KEY=VALUE, the pod's own variables only
}

func (l launch) equal(o launch) bool {
	return slices.Equal(l.Args, o.Args) && slices.Equal(l.Env, o.Env)
}

// podName is the name of a StatefulSet's pod with the given ordinal.
func podName(sts string, ordinal int) string { return fmt.Sprintf("%s-%d", sts, ordinal) }

// podLaunch reads the first container of the pod template: its args and
// its environment with downward-API references resolved for this pod.
// The image and command are ignored: the runner's binary replaces them.
func podLaunch(sts *appsv1.StatefulSet, ordinal int, nodeName string) (launch, error) {
	containers := sts.Spec.Template.Spec.Containers
	if len(containers) == 0 {
		return launch{}, fmt.Errorf("StatefulSet %s/%s has no container", sts.Namespace, sts.Name)
	}
	c := containers[0]
	fields := podFields(sts, ordinal, nodeName)
	env := make([]string, 0, len(c.Env))
	for _, v := range c.Env {
		value, err := envValue(v, fields)
		if err != nil {
			return launch{}, fmt.Errorf("container %s env %s: %w", c.Name, v.Name, err)
		}
		env = append(env, v.Name+"="+value)
	}
	return launch{Args: slices.Clone(c.Args), Env: env}, nil
}

// podFields are the downward-API fields the runner can answer.
func podFields(sts *appsv1.StatefulSet, ordinal int, nodeName string) map[string]string {
	fields := map[string]string{
		"metadata.name":           podName(sts.Name, ordinal),
		"metadata.namespace":      sts.Namespace,
		"spec.serviceAccountName": serviceAccount(sts),
		"spec.nodeName":           nodeName,
		"status.podIP":            podIP(sts.Namespace, podName(sts.Name, ordinal)),
		"status.hostIP":           loopbackIP,
	}
	for k, v := range podLabels(sts, ordinal) {
		fields["metadata.labels['"+k+"']"] = v
	}
	for k, v := range sts.Spec.Template.Annotations {
		fields["metadata.annotations['"+k+"']"] = v
	}
	return fields
}

func envValue(v corev1.EnvVar, fields map[string]string) (string, error) {
	if v.ValueFrom == nil {
		return v.Value, nil
	}
	if v.ValueFrom.FieldRef == nil {
		return "", fmt.Errorf("only literal values and fieldRef are supported by the lab pod runner")
	}
	value, ok := fields[v.ValueFrom.FieldRef.FieldPath]
	if !ok {
		return "", fmt.Errorf("fieldRef %q is not supported by the lab pod runner", v.ValueFrom.FieldRef.FieldPath)
	}
	return value, nil
}

// serviceAccount is the pod's ServiceAccount, "default" when unset as the
// API server would default it.
func serviceAccount(sts *appsv1.StatefulSet) string {
	if sa := sts.Spec.Template.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return "default"
}

// processEnv is the environment of a replica's process: the runner's own
// (PATH, HOME…) without anything that would point the process at another
// cluster, then the pod's variables, which win.
func processEnv(pod launch, kubeconfig, tmpDir string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "KUBERNETES_")
	})
	env = append(env, "KUBECONFIG="+kubeconfig, "TMPDIR="+tmpDir)
	return append(env, pod.Env...)
}
