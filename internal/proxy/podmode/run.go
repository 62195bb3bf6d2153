// Package podmode runs tsgw-proxy as one machine of a pool, in a pod: a
// tsnet node whose identity lives in the pod's state Secret, serving the
// pool's ConfigMap (re-applied on every change, without dropping
// established connections) on tailnet listeners and VIP services, and
// reporting itself into the same Secret for the operator. The sibling
// package standalone serves a file on plain TCP.
package podmode

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Run serves until ctx is cancelled, then stops advertising, drains and
// returns nil. It fails when the pod's Secrets cannot be read or the node
// cannot join the tailnet; a refused configuration only keeps the running
// one.
func Run(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	id := opts.Identity
	log := opts.Logger.With("pod", id.Pod)
	secret := newStateSecret(opts.Kube, id.Namespace, pool.StateSecretName(id.Pod))
	store, err := newSecretStore(ctx, secret)
	if err != nil {
		return fmt.Errorf("tailnet state: %w", err)
	}
	authKey, hostname, err := readAuthKey(ctx, opts.Kube, id.Namespace, id.Pod)
	if err != nil {
		return err
	}
	m, err := newMachine(opts, secret, log)
	if err != nil {
		return err
	}
	defer m.stopAdmin()
	defer m.stopMetrics()
	versions, err := watchConfigMap(ctx, opts.Kube, id.Namespace, pool.ConfigMapName(id.Pool), log)
	if err != nil {
		return err
	}
	first, cfg, err := firstConfig(ctx, versions, m)
	if err != nil {
		return err
	}
	if err := m.join(ctx, nodeOptions{
		Hostname: hostname, AuthKey: authKey, Tailnet: *cfg.Tailnet,
		Store: store, Dir: opts.StateDir, Log: log,
	}); err != nil {
		return err
	}
	return m.serve(ctx, first, cfg, versions)
}

// readAuthKey reads the key minted for this machine, and the hostname the
// operator chose for it (unique in the tailnet, unlike the pod's name).
// The key is never logged.
func readAuthKey(ctx context.Context, kube kubernetes.Interface, namespace, pod string) (key, hostname string, err error) {
	name := pool.AuthKeySecretName(pod)
	sec, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("auth key Secret %s: %w", name, err)
	}
	for _, k := range []string{pool.AuthKeyKey, pool.HostnameKey} {
		if len(sec.Data[k]) == 0 {
			return "", "", fmt.Errorf("auth key Secret %s has no %q", name, k)
		}
	}
	return string(sec.Data[pool.AuthKeyKey]), string(sec.Data[pool.HostnameKey]), nil
}

// firstConfig waits for a valid configuration: the node cannot join the
// tailnet before it knows the control URL and tags.
func firstConfig(ctx context.Context, versions <-chan configVersion, m *machine) (configVersion, *proxyconfig.Config, error) {
	m.log.Info("waiting for the configuration")
	for {
		select {
		case <-ctx.Done():
			return configVersion{}, nil, ctx.Err()
		case v := <-versions:
			cfg, err := parsePodConfig(v.Data)
			if err == nil {
				return v, cfg, m.startAdmin(cfg)
			}
			m.refused(v, err)
		}
	}
}

// parsePodConfig parses a configuration that pod mode can serve.
func parsePodConfig(data []byte) (*proxyconfig.Config, error) {
	cfg, err := proxyconfig.Parse(data)
	if err != nil {
		return nil, err
	}
	if cfg.Tailnet == nil {
		return nil, errors.New("tailnet: required in pod mode")
	}
	return cfg, nil
}
