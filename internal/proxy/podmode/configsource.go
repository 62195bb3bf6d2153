package podmode

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// configVersion is one version of the pool's ConfigMap.
type configVersion struct {
	Data []byte
	// ResourceVersion identifies the version in the report.
	ResourceVersion string
}

// watchConfigMap delivers the ConfigMap's versions until ctx is done. Only
// the latest undelivered version is kept: a slow consumer skips versions
// it would have replaced anyway. The informer lists and watches this one
// object (field selector on its name), which is all the pod's Role allows,
// and relists and rewatches on its own after errors.
func watchConfigMap(ctx context.Context, client kubernetes.Interface, namespace, name string, log *slog.Logger) (<-chan configVersion, error) {
	out := make(chan configVersion, 1)
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "configmaps", namespace,
		fields.OneTermEqualSelector("metadata.name", name))
	informer := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
	deliver := func(obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			offerLatest(out, configVersion{Data: []byte(cm.Data[pool.ConfigKey]), ResourceVersion: cm.ResourceVersion})
		}
	}
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    deliver,
		UpdateFunc: func(_, obj any) { deliver(obj) },
		DeleteFunc: func(any) {
			log.Warn("configuration ConfigMap deleted; keeping the running configuration", "configmap", name)
		},
	})
	if err != nil {
		return nil, err
	}
	go informer.RunWithContext(ctx)
	return out, nil
}

// offerLatest puts v into a one-slot channel, replacing an undelivered value.
// It has a single producer (the informer's handler), so it cannot spin.
func offerLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
