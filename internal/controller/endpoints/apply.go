package endpoints

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// Why not server-side apply: an apply request goes to the API server on
// every reconcile, even when it changes nothing, and the pool must make no
// requests at all in steady state. So the reconciler compares what the
// builders set with the cached object, field by field, and sends an Update
// only when something differs. Comparing with equality.Semantic.DeepDerivative
// ignores fields the builders leave empty, so the API server's defaults
// (probe timeouts, imagePullPolicy, ipFamilies…) never look like drift, and
// fields other controllers set survive because only owned fields are copied.

// kind says how the reconciler keeps one kind of object as built.
type kind[T client.Object] struct {
	// empty returns a new object to read into.
	empty func() T
	// upToDate reports whether actual has every field desired sets.
	upToDate func(desired, actual T) bool
	// copyOwned copies the fields desired sets onto actual.
	copyOwned func(desired, actual T)
}

// applier writes the objects of one pool.
type applier struct {
	client client.Client
	scheme *runtime.Scheme
	pool   *gatewayv1alpha1.TailscaleEndpoints
}

// ensure creates desired, or updates the existing object when a field the
// builder sets differs. An existing object that is not the pool's is
// adopted only when it carries our managed-by label and no other
// controller; anything else is left untouched (a *TakenError).
func ensure[T client.Object](ctx context.Context, a applier, k kind[T], desired T) (controllerutil.OperationResult, error) {
	actual := k.empty()
	err := a.client.Get(ctx, client.ObjectKeyFromObject(desired), actual)
	if apierrors.IsNotFound(err) {
		return controllerutil.OperationResultCreated, a.client.Create(ctx, desired)
	}
	if err != nil {
		return controllerutil.OperationResultNone, err
	}
	if err := checkAdoptable(actual, a.pool); err != nil {
		return controllerutil.OperationResultNone, err
	}
	if metav1.IsControlledBy(actual, a.pool) && equality.Semantic.DeepDerivative(desired.GetLabels(), actual.GetLabels()) && k.upToDate(desired, actual) {
		return controllerutil.OperationResultNone, nil
	}
	if err := controllerutil.SetControllerReference(a.pool, actual, a.scheme); err != nil {
		return controllerutil.OperationResultNone, err
	}
	mergeLabels(desired, actual)
	k.copyOwned(desired, actual)
	return controllerutil.OperationResultUpdated, a.client.Update(ctx, actual)
}

// TakenError says an object of a name the pool needs exists and is not
// the pool's to take.
type TakenError struct {
	Why string
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("already exists and %s; it is left untouched: delete or rename it, or give the TailscaleEndpoints another name", e.Why)
}

// checkAdoptable says whether an existing object may be made the pool's:
// it is already, or it carries our managed-by label and no controller
// (say, left by an earlier pool of the name deleted with orphaning).
func checkAdoptable(obj client.Object, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	if metav1.IsControlledBy(obj, ep) {
		return nil
	}
	if owner := metav1.GetControllerOf(obj); owner != nil {
		return &TakenError{Why: fmt.Sprintf("is controlled by %s %s", owner.Kind, owner.Name)}
	}
	if obj.GetLabels()[pool.LabelManagedBy] != pool.ManagedBy {
		return &TakenError{Why: fmt.Sprintf("is not labelled %s=%s", pool.LabelManagedBy, pool.ManagedBy)}
	}
	return nil
}

func mergeLabels(desired, actual client.Object) {
	labels := actual.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range desired.GetLabels() {
		labels[k] = v
	}
	actual.SetLabels(labels)
}

var statefulSets = kind[*appsv1.StatefulSet]{
	empty: func() *appsv1.StatefulSet { return &appsv1.StatefulSet{} },
	upToDate: func(d, a *appsv1.StatefulSet) bool {
		return equality.Semantic.DeepDerivative(d.Spec, a.Spec)
	},
	// Only replicas and the pod template: the rest of a StatefulSet's spec
	// is immutable, and the builder never changes it.
	copyOwned: func(d, a *appsv1.StatefulSet) {
		a.Spec.Replicas = d.Spec.Replicas
		a.Spec.Template = d.Spec.Template
	},
}

var services = kind[*corev1.Service]{
	empty:    func() *corev1.Service { return &corev1.Service{} },
	upToDate: func(d, a *corev1.Service) bool { return equality.Semantic.DeepDerivative(d.Spec, a.Spec) },
	copyOwned: func(d, a *corev1.Service) {
		a.Spec.Selector = d.Spec.Selector
		a.Spec.Ports = d.Spec.Ports
		a.Spec.PublishNotReadyAddresses = d.Spec.PublishNotReadyAddresses
	},
}

var serviceAccounts = kind[*corev1.ServiceAccount]{
	empty:     func() *corev1.ServiceAccount { return &corev1.ServiceAccount{} },
	upToDate:  func(_, _ *corev1.ServiceAccount) bool { return true },
	copyOwned: func(_, _ *corev1.ServiceAccount) {},
}

// Rules and subjects are compared exactly: a longer list in the cluster
// (say, the Secrets of a removed replica) must shrink.
var roles = kind[*rbacv1.Role]{
	empty:     func() *rbacv1.Role { return &rbacv1.Role{} },
	upToDate:  func(d, a *rbacv1.Role) bool { return equality.Semantic.DeepEqual(d.Rules, a.Rules) },
	copyOwned: func(d, a *rbacv1.Role) { a.Rules = d.Rules },
}

var roleBindings = kind[*rbacv1.RoleBinding]{
	empty: func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} },
	upToDate: func(d, a *rbacv1.RoleBinding) bool {
		return equality.Semantic.DeepEqual(d.Subjects, a.Subjects)
	},
	// roleRef is immutable and always names the pool's Role.
	copyOwned: func(d, a *rbacv1.RoleBinding) { a.Subjects = d.Subjects },
}

var podDisruptionBudgets = kind[*policyv1.PodDisruptionBudget]{
	empty: func() *policyv1.PodDisruptionBudget { return &policyv1.PodDisruptionBudget{} },
	upToDate: func(d, a *policyv1.PodDisruptionBudget) bool {
		return equality.Semantic.DeepDerivative(d.Spec, a.Spec)
	},
	copyOwned: func(d, a *policyv1.PodDisruptionBudget) { a.Spec = d.Spec },
}

// stateSecrets keeps only the metadata of a state Secret: its data is the
// machine's.
var stateSecrets = kind[*corev1.Secret]{
	empty:     func() *corev1.Secret { return &corev1.Secret{} },
	upToDate:  func(_, _ *corev1.Secret) bool { return true },
	copyOwned: func(_, _ *corev1.Secret) {},
}
