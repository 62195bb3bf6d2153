package podrunner_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// createRBAC gives the pods' ServiceAccount the right to read ConfigMaps
// only, and creates a Secret and a ConfigMap for it to try.
func createRBAC(t *testing.T, c client.Client) {
	t.Helper()
	mustCreate(t, c, &corev1.ServiceAccount{ObjectMeta: meta(sa)})
	mustCreate(t, c, &rbacv1.Role{
		ObjectMeta: meta(sa),
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
	})
	mustCreate(t, c, &rbacv1.RoleBinding{
		ObjectMeta: meta(sa),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: sa},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	})
	mustCreate(t, c, &corev1.Secret{ObjectMeta: meta("forbidden"), StringData: map[string]string{"k": "v"}})
	mustCreate(t, c, &corev1.ConfigMap{ObjectMeta: meta("allowed"), Data: map[string]string{"k": "v"}})
}

// statefulSet is shaped like a pool's: --pod, downward-API env, the
// pool's ServiceAccount; the literal env makes the test binary a fake proxy.
func statefulSet(name string, ignoreSIGTERM bool) *appsv1.StatefulSet {
	labels := map[string]string{"app": "fake", "sts": name}
	env := []corev1.EnvVar{
		{Name: "PODRUNNER_FAKE_PROXY", Value: "1"},
		{Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")},
		{Name: "POD_NAMESPACE", ValueFrom: fieldRef("metadata.namespace")},
		{Name: "TSGW_POOL", Value: name},
	}
	if ignoreSIGTERM {
		env = append(env, corev1.EnvVar{Name: "FAKE_IGNORE_SIGTERM", Value: "1"})
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](0),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: sa,
					Containers:         []corev1.Container{{Name: "proxy", Image: "tsgw-proxy:test", Args: []string{"--pod"}, Env: env}},
				},
			},
		},
	}
	return sts
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitFor polls f until it succeeds, failing the test after a deadline.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
