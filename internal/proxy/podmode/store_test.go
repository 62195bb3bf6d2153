package podmode

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"tailscale.com/ipn"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

func fakeStateSecret(t *testing.T, data map[string][]byte) (*fake.Clientset, *stateSecret) {
	t.Helper()
	cs := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-0-state"}, Data: data,
	})
	return cs, newStateSecret(cs, "ns", "web-0-state")
}

func secretData(t *testing.T, cs *fake.Clientset) map[string][]byte {
	t.Helper()
	sec, err := cs.CoreV1().Secrets("ns").Get(context.Background(), "web-0-state", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sec.Data
}

func TestStoreKeepsStateBesideTheReport(t *testing.T) {
	cs, secret := fakeStateSecret(t, map[string][]byte{
		pool.StatusKey: []byte(`{"ready":true}`), "_machinekey": []byte("old"),
	})
	store, err := newSecretStore(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadState("_machinekey"); err != nil || string(got) != "old" {
		t.Fatalf("ReadState(_machinekey) = %q, %v; want the Secret's value", got, err)
	}
	if _, err := store.ReadState(pool.StatusKey); !errors.Is(err, ipn.ErrStateNotExist) {
		t.Fatalf("the report is visible as state: %v", err)
	}
	if err := store.WriteState("_machinekey", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteState("profile-a/b", []byte("p")); err != nil {
		t.Fatal(err)
	}
	data := secretData(t, cs)
	if string(data["_machinekey"]) != "new" || string(data["profile-a_b"]) != "p" || string(data[pool.StatusKey]) != `{"ready":true}` {
		t.Fatalf("Secret data = %q; want new state, sanitized key, report untouched", data)
	}
	if got, _ := store.ReadState("profile-a/b"); string(got) != "p" {
		t.Fatalf("ReadState after write = %q", got)
	}
	if err := store.WriteState("_machinekey", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := secretData(t, cs)["_machinekey"]; ok {
		t.Fatal("WriteState(nil) left the key in the Secret")
	}
	if _, err := store.ReadState("_machinekey"); !errors.Is(err, ipn.ErrStateNotExist) {
		t.Fatalf("ReadState after delete: %v", err)
	}
	if err := store.WriteState(pool.StatusKey, []byte("x")); err == nil {
		t.Fatal("the store overwrote the report key")
	}
}

func TestStoreRetriesOnConflict(t *testing.T) {
	cs, secret := fakeStateSecret(t, nil)
	conflicts := 2
	cs.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "web-0-state", errors.New("stale"))
	})
	store, err := newSecretStore(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteState("_machinekey", []byte("k")); err != nil {
		t.Fatalf("WriteState across conflicts: %v", err)
	}
	if conflicts != 0 || string(secretData(t, cs)["_machinekey"]) != "k" {
		t.Fatalf("conflicts left %d, data %q", conflicts, secretData(t, cs))
	}
}

func TestStoreSkipsUnchangedWrites(t *testing.T) {
	cs, secret := fakeStateSecret(t, map[string][]byte{"_machinekey": []byte("k")})
	store, err := newSecretStore(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	if err := store.WriteState("_machinekey", []byte("k")); err != nil {
		t.Fatal(err)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "update" {
			t.Fatal("an unchanged value was written")
		}
	}
}

// The operator creates the state Secret empty: the first write must work.
func TestStoreStartsFromAnEmptySecret(t *testing.T) {
	cs, secret := fakeStateSecret(t, nil)
	store, err := newSecretStore(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteState("_machinekey", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadState("_machinekey"); err != nil || string(got) != "first" {
		t.Fatalf("ReadState = %q, %v", got, err)
	}
	if string(secretData(t, cs)["_machinekey"]) != "first" {
		t.Fatal("the first state was not written to the Secret")
	}
}
