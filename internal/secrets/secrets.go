// Package secrets keeps other people's Secrets out of the operator's
// memory. The manager's cache watches every Secret, because controllers
// must notice when an OAuth client or a CA bundle Secret changes, but
// StripForeignData drops the data of those the operator does not own
// before they are cached; Reader reads that data from the API server when
// a controller needs it, and again only once the Secret has changed.
package secrets

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// owned is true for the Secrets the operator makes (auth keys, machine
// state): it reads their data often and keeps it cached.
func owned(sec *corev1.Secret) bool {
	return sec.Labels[pool.LabelManagedBy] == pool.ManagedBy
}

// StripForeignData is a cache transform: a Secret the operator does not own
// is kept without its data.
func StripForeignData(obj any) (any, error) {
	if sec, ok := obj.(*corev1.Secret); ok && !owned(sec) {
		sec.Data, sec.StringData = nil, nil
	}
	return obj, nil
}

// Reader is a client.Reader over the cache that fills in the data of
// Secrets the operator does not own from the API server, remembering it
// per resourceVersion: at steady state it makes no request, and it holds
// the data of the Secrets controllers asked for, not of every Secret.
type Reader struct {
	client.Reader // the cache, with StripForeignData
	Live          client.Reader

	mu   sync.Mutex
	memo map[client.ObjectKey]*corev1.Secret
}

// NewReader reads through cache, and from live for foreign Secrets' data.
func NewReader(cache, live client.Reader) *Reader {
	return &Reader{Reader: cache, Live: live, memo: map[client.ObjectKey]*corev1.Secret{}}
}

// Get implements client.Reader.
func (r *Reader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return r.Reader.Get(ctx, key, obj, opts...)
	}
	cached := &corev1.Secret{}
	if err := r.Reader.Get(ctx, key, cached, opts...); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(key)
		}
		return err
	}
	if owned(cached) {
		cached.DeepCopyInto(sec)
		return nil
	}
	full, err := r.data(ctx, key, cached.ResourceVersion)
	if err != nil {
		return err
	}
	full.DeepCopyInto(sec)
	return nil
}

// data is the Secret as the API server has it, read again only when the
// cache has seen another version than the one remembered.
func (r *Reader) data(ctx context.Context, key client.ObjectKey, version string) (*corev1.Secret, error) {
	r.mu.Lock()
	m := r.memo[key]
	r.mu.Unlock()
	if m != nil && m.ResourceVersion == version {
		return m, nil
	}
	full := &corev1.Secret{}
	if err := r.Live.Get(ctx, key, full); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.memo[key] = full
	r.mu.Unlock()
	return full, nil
}

func (r *Reader) forget(key client.ObjectKey) {
	r.mu.Lock()
	delete(r.memo, key)
	r.mu.Unlock()
}
