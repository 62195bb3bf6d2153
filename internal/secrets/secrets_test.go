package secrets

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

func secret(name string, ours bool, data string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{"k": []byte(data)}}
	if ours {
		s.Labels = map[string]string{pool.LabelManagedBy: pool.ManagedBy}
	}
	return s
}

func TestStripForeignData(t *testing.T) {
	for _, tt := range []struct {
		name     string
		obj      any
		wantData bool
	}{
		{"a foreign Secret loses its data", secret("oauth", false, "x"), false},
		{"the operator's own keeps it", secret("web-0-state", true, "x"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := StripForeignData(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.(*corev1.Secret).Data != nil; got != tt.wantData {
				t.Errorf("data kept %t, want %t", got, tt.wantData)
			}
		})
	}
	cm := &corev1.ConfigMap{Data: map[string]string{"a": "b"}}
	if out, _ := StripForeignData(cm); out.(*corev1.ConfigMap).Data["a"] != "b" {
		t.Error("a ConfigMap was changed")
	}
}

// countingReader counts the Gets that reach the API server.
type countingReader struct {
	client.Reader
	gets int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets++
	return c.Reader.Get(ctx, key, obj, opts...)
}

// strippedView is the operator's cache of an API server: the same objects
// and versions, foreign Secrets without their data.
type strippedView struct{ client.Reader }

func (v strippedView) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := v.Reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	_, err := StripForeignData(obj)
	return err
}

// cluster is an API server (live) and the operator's cache of it.
type cluster struct {
	api   client.Client
	cache client.Reader
	live  *countingReader
}

func newCluster(t *testing.T, objs ...*corev1.Secret) *cluster {
	t.Helper()
	c := &cluster{api: fake.NewClientBuilder().Build()}
	c.live, c.cache = &countingReader{Reader: c.api}, strippedView{c.api}
	for _, o := range objs {
		c.put(t, o)
	}
	return c
}

// put creates or updates s in the API server.
func (c *cluster) put(t *testing.T, s *corev1.Secret) {
	t.Helper()
	ctx := context.Background()
	have := &corev1.Secret{}
	if err := c.api.Get(ctx, client.ObjectKeyFromObject(s), have); err != nil {
		if err := c.api.Create(ctx, s.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		return
	}
	have.Data = s.Data
	if err := c.api.Update(ctx, have); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, r *Reader, name string) string {
	t.Helper()
	s := &corev1.Secret{}
	if err := r.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: name}, s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data["k"])
}

func TestReaderReadsForeignDataOncePerVersion(t *testing.T) {
	c := newCluster(t, secret("oauth", false, "v1"))
	r := NewReader(c.cache, c.live)
	if got := read(t, r, "oauth"); got != "v1" {
		t.Fatalf("data %q, want v1", got)
	}
	if got := read(t, r, "oauth"); got != "v1" || c.live.gets != 1 {
		t.Fatalf("second read: data %q after %d API reads, want v1 after 1", got, c.live.gets)
	}
	c.put(t, secret("oauth", false, "v2"))
	if got := read(t, r, "oauth"); got != "v2" || c.live.gets != 2 {
		t.Fatalf("after a change: data %q after %d API reads, want v2 after 2", got, c.live.gets)
	}
}

func TestReaderTakesOwnSecretsFromTheCache(t *testing.T) {
	c := newCluster(t, secret("web-0-state", true, "state"))
	r := NewReader(c.cache, c.live)
	if got := read(t, r, "web-0-state"); got != "state" || c.live.gets != 0 {
		t.Errorf("data %q after %d API reads, want state after none", got, c.live.gets)
	}
}

func TestReaderMissingSecret(t *testing.T) {
	c := newCluster(t)
	r := NewReader(c.cache, c.live)
	err := r.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "nope"}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) || c.live.gets != 0 {
		t.Errorf("error %v after %d API reads, want NotFound from the cache alone", err, c.live.gets)
	}
}

func TestReaderPassesOtherKindsToTheCache(t *testing.T) {
	c := newCluster(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"a": "b"}}
	if err := c.api.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	r := NewReader(c.cache, c.live)
	got := &corev1.ConfigMap{}
	if err := r.Get(context.Background(), client.ObjectKeyFromObject(cm), got); err != nil || got.Data["a"] != "b" || c.live.gets != 0 {
		t.Errorf("ConfigMap %v, %v after %d API reads", got.Data, err, c.live.gets)
	}
}
