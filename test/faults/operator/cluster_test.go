package operator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

const (
	operatorNS = "tsgw-system"
	operatorID = "faults-op"
	// poolTag is what every pool of the suite is tagged with.
	poolTag = "tag:web"
)

// cluster is a real API server with the operator running as a process.
type cluster struct {
	t   *testing.T
	env *kubetest.Env
	c   client.Client
	op  *operatorProc
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := kubetest.Start(t)
	env.Namespace(t, operatorNS)
	c := &cluster{t: t, env: env, c: env.Client, op: newOperator(t, env.KubeConfig)}
	c.op.start()
	return c
}

// addTailnet makes a TailscaleTailnet named name served by a new emulator
// and waits until the operator has verified it.
func (c *cluster) addTailnet(name string) *tailnetAPI {
	c.t.Helper()
	tn := newTailnetAPI(c.t)
	c.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "oauth-" + name, Namespace: operatorNS},
		Data:       map[string][]byte{tailnet.ClientIDKey: []byte(clientID), tailnet.ClientSecretKey: []byte(clientSecret)},
	})
	c.create(&gatewayv1alpha1.TailscaleTailnet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: gatewayv1alpha1.TailscaleTailnetSpec{
			APIBaseURL:     tn.url,
			OAuthSecretRef: gatewayv1alpha1.SecretReference{Name: "oauth-" + name, Namespace: operatorNS},
			Access:         &gatewayv1alpha1.TailnetAccess{},
		},
	})
	c.eventually("tailnet "+name+" Ready", time.Minute, func() error {
		obj := &gatewayv1alpha1.TailscaleTailnet{}
		if err := c.c.Get(context.Background(), client.ObjectKey{Name: name}, obj); err != nil {
			return err
		}
		return conditionIs(obj.Status.Conditions, gatewayv1alpha1.ConditionReady, metav1.ConditionTrue)
	})
	return tn
}

func (c *cluster) create(obj client.Object) {
	c.t.Helper()
	if err := c.c.Create(context.Background(), obj); err != nil {
		c.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (c *cluster) delete(obj client.Object) {
	c.t.Helper()
	if err := c.c.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
		c.t.Fatalf("deleting %T %s: %v", obj, obj.GetName(), err)
	}
}

// eventually retries check every 200 ms until it passes; past timeout the
// test fails with the last error.
func (c *cluster) eventually(what string, timeout time.Duration, check func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// gone is nil once obj no longer exists.
func (c *cluster) gone(obj client.Object) error {
	err := c.c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("%T %s still exists (finalizers %v)", obj, obj.GetName(), obj.GetFinalizers())
	}
	return err
}

// service reads a TailscaleServices.
func (c *cluster) service(ns, name string) (*gatewayv1alpha1.TailscaleServices, error) {
	ts := &gatewayv1alpha1.TailscaleServices{}
	return ts, c.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ts)
}

// waitServiceCondition waits until a TailscaleServices' condition typ has
// status and, when given, a message containing every one of words.
func (c *cluster) waitServiceCondition(ns, name, typ string, status metav1.ConditionStatus, timeout time.Duration, words ...string) *metav1.Condition {
	c.t.Helper()
	var found *metav1.Condition
	c.eventually(fmt.Sprintf("%s/%s %s=%s %q", ns, name, typ, status, words), timeout, func() error {
		ts, err := c.service(ns, name)
		if err != nil {
			return err
		}
		cond := meta.FindStatusCondition(ts.Status.Conditions, typ)
		if cond == nil || cond.Status != status {
			return fmt.Errorf("conditions: %s", describe(ts.Status.Conditions))
		}
		for _, w := range words {
			if !strings.Contains(strings.ToLower(cond.Message), strings.ToLower(w)) {
				return fmt.Errorf("%s message %q lacks %q", typ, cond.Message, w)
			}
		}
		found = cond
		return nil
	})
	return found
}

// secret reads a Secret.
func (c *cluster) secret(ns, name string) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	return sec, c.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, sec)
}

// warnings are the reasons of the Warning events about the object named name.
func (c *cluster) warnings(ns, name string) map[string]bool {
	c.t.Helper()
	list := &eventsv1.EventList{}
	if err := c.c.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Type == corev1.EventTypeWarning {
			out[e.Reason] = true
		}
	}
	return out
}

func conditionIs(conds []metav1.Condition, typ string, status metav1.ConditionStatus) error {
	if meta.IsStatusConditionPresentAndEqual(conds, typ, status) {
		return nil
	}
	return fmt.Errorf("%s is not %s: %s", typ, status, describe(conds))
}

func describe(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s %q", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// backend makes the Service a pool forwards to by default (named like
// the pool) with one ready endpoint.
func (c *cluster) backend(ns, name string) {
	c.t.Helper()
	c.create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	})
	c.create(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-abc", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	})
}

// poolObject is a pool of replicas ingress machines on port 80 in tailnet tn,
// labelled app=<name>.
func poolObject(ns, name, tn string, replicas int32) *gatewayv1alpha1.TailscaleEndpoints {
	return &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: tn,
			Tags:    []gatewayv1alpha1.Tag{poolTag},
			Proxy: gatewayv1alpha1.ProxySpec{
				Replicas: ptr.To(replicas), ConnectionType: gatewayv1alpha1.ConnectionTypeIngress,
				Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: gatewayv1alpha1.ProtocolTCP}},
			},
		},
	}
}

// serviceObject is a TailscaleServices selecting the pool named app.
func serviceObject(ns, name, app string, autoApprove bool) *gatewayv1alpha1.TailscaleServices {
	return &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{AutoApprove: autoApprove},
		},
	}
}
