package endpoints

import (
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// nonRootID is the "nonroot" user and group of distroless images.
const nonRootID = 65532

// StatefulSet runs the pool's machines: one tsgw-proxy pod per replica,
// named <pool>-<ordinal>. The proxy reads its auth key and keeps its
// tailnet state in its own Secrets through the API server, so nothing is
// mounted but a scratch /tmp.
func StatefulSet(ep *gatewayv1alpha1.TailscaleEndpoints, opts ProxyOptions) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: objectMeta(ep, pool.StatefulSetName(ep.Name)),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(desiredReplicas(ep)),
			ServiceName: pool.HeadlessServiceName(ep.Name),
			Selector:    &metav1.LabelSelector{MatchLabels: selectorLabels(ep)},
			// Machines are independent peers: start and stop them together.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta(ep),
				Spec:       podSpec(ep, opts),
			},
		},
	}
}

// podMeta is the pool's labels over the user's extra labels (admission
// refuses user labels of the pool's keys), and the user's annotations.
func podMeta(ep *gatewayv1alpha1.TailscaleEndpoints) metav1.ObjectMeta {
	settings := podSettings(ep)
	labels := maps.Clone(settings.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, poolLabels(ep))
	return metav1.ObjectMeta{Labels: labels, Annotations: maps.Clone(settings.Annotations)}
}

// podSettings are the pool's pod settings; empty when it sets none.
func podSettings(ep *gatewayv1alpha1.TailscaleEndpoints) gatewayv1alpha1.ProxyPodSpec {
	if ep.Spec.Proxy.Pod == nil {
		return gatewayv1alpha1.ProxyPodSpec{}
	}
	return *ep.Spec.Proxy.Pod
}

func podSpec(ep *gatewayv1alpha1.TailscaleEndpoints, opts ProxyOptions) corev1.PodSpec {
	settings := podSettings(ep)
	return corev1.PodSpec{
		NodeSelector:              settings.NodeSelector,
		Tolerations:               settings.Tolerations,
		Affinity:                  settings.Affinity,
		PriorityClassName:         settings.PriorityClassName,
		TopologySpreadConstraints: spreadConstraints(ep, settings.TopologySpreadConstraints),
		ServiceAccountName:        pool.ServiceAccountName(ep.Name),
		// Longer than the proxy's drain and the rest of its shutdown.
		TerminationGracePeriodSeconds: ptr.To(int64(pool.TerminationGracePeriod.Seconds())),
		// The proxy talks to the API server (its ConfigMap and Secrets).
		AutomountServiceAccountToken: ptr.To(true),
		// Service links would put every Service of the namespace in the env.
		EnableServiceLinks: ptr.To(false),
		SecurityContext:    podSecurityContext(),
		Containers:         []corev1.Container{proxyContainer(ep, opts)},
		Volumes: []corev1.Volume{{
			Name:         "tmp",
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		}},
	}
}

func proxyContainer(ep *gatewayv1alpha1.TailscaleEndpoints, opts ProxyOptions) corev1.Container {
	return corev1.Container{
		Name:  "proxy",
		Image: opts.Image,
		// /metrics on their own port, behind the API server's authentication
		// and authorisation (the pool's ClusterRoleBinding lets the proxy
		// ask); the probes stay plain on the admin port.
		Args: []string{"--pod", "--metrics-address=:" + strconv.Itoa(MetricsPort)},
		Env:  proxyEnv(ep),
		Ports: []corev1.ContainerPort{
			{Name: adminPortName, ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
			{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
		},
		ReadinessProbe:  httpProbe("/readyz"),
		LivenessProbe:   httpProbe("/healthz"),
		Resources:       containerResources(ep, opts),
		SecurityContext: containerSecurityContext(),
		VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
}

// containerResources: the pool's own, else the operator's default.
func containerResources(ep *gatewayv1alpha1.TailscaleEndpoints, opts ProxyOptions) corev1.ResourceRequirements {
	if r := podSettings(ep).Resources; r != nil {
		return *r
	}
	return opts.resources()
}

// spreadConstraints are the pool's own (a constraint without a
// labelSelector counting the pool's pods), or by default a spread across
// nodes where possible, so that losing a node takes as few machines as it
// can without ever keeping a machine from being scheduled.
func spreadConstraints(ep *gatewayv1alpha1.TailscaleEndpoints, given []corev1.TopologySpreadConstraint) []corev1.TopologySpreadConstraint {
	poolPods := &metav1.LabelSelector{MatchLabels: selectorLabels(ep)}
	if len(given) == 0 {
		return []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       corev1.LabelHostname,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     poolPods,
		}}
	}
	out := make([]corev1.TopologySpreadConstraint, len(given))
	for i, c := range given {
		if c.LabelSelector == nil {
			c.LabelSelector = poolPods
		}
		out[i] = c
	}
	return out
}

func proxyEnv(ep *gatewayv1alpha1.TailscaleEndpoints) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: pool.EnvPodName, ValueFrom: fieldRef("metadata.name")},
		{Name: pool.EnvPodNamespace, ValueFrom: fieldRef("metadata.namespace")},
		{Name: pool.EnvPodIP, ValueFrom: fieldRef("status.podIP")},
		{Name: pool.EnvPool, Value: ep.Name},
	}
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

// httpProbe spells out every timing: the API server would otherwise fill
// them in, and a spec that differs from the stored one after defaulting
// would be rewritten on every reconcile.
func httpProbe(path string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(adminPortName), Scheme: corev1.URISchemeHTTP},
		},
		PeriodSeconds:    10,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}

// podSecurityContext: tsnet runs in userspace, so the proxy needs no root,
// no capabilities and no writable root filesystem (restricted Pod Security).
func podSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](nonRootID),
		RunAsGroup:     ptr.To[int64](nonRootID),
		FSGroup:        ptr.To[int64](nonRootID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func containerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](nonRootID),
		RunAsGroup:               ptr.To[int64](nonRootID),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
