package podmode

import (
	"context"
	"fmt"
	"maps"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// stateSecret is the one writer of the pod's state Secret. Two parts of this
// process write it (the tailnet state store and the status reporter), each
// owning different keys; every write is a read-modify-write of the whole
// Secret, serialized here and retried on conflict, so neither part can undo
// the other's write. Only get and update are used: the pod's Role allows
// nothing else on it (in particular not create: the operator creates it).
type stateSecret struct {
	client    kubernetes.Interface
	namespace string
	name      string

	mu sync.Mutex
}

func newStateSecret(client kubernetes.Interface, namespace, name string) *stateSecret {
	return &stateSecret{client: client, namespace: namespace, name: name}
}

// read returns a copy of the Secret's data.
func (s *stateSecret) read(ctx context.Context) (map[string][]byte, error) {
	sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", s.namespace, s.name, err)
	}
	data := maps.Clone(sec.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	return data, nil
}

// mutate applies change to the Secret's current data and updates it, unless
// change reports that nothing changed.
func (s *stateSecret) mutate(ctx context.Context, change func(data map[string][]byte) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		secrets := s.client.CoreV1().Secrets(s.namespace)
		sec, err := secrets.Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		if !change(sec.Data) {
			return nil
		}
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
		return err
	})
}
