package operator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// join does what machine ordinal of pool does when it starts: it joins
// the tailnet with the key in its auth key Secret, as a device under the
// hostname the operator chose, with the key's tags, and reports itself
// in its state Secret. It returns the device's node ID.
func (c *cluster) join(tn *tailnetAPI, ns, poolName string, ordinal int) string {
	c.t.Helper()
	pod := pool.PodName(poolName, ordinal)
	var key *corev1.Secret
	c.eventually("auth key Secret of "+pod, time.Minute, func() (err error) {
		key, err = c.secret(ns, pool.AuthKeySecretName(pod))
		return err
	})
	hostname := string(key.Data[pool.HostnameKey])
	nodeID := "n" + strings.ReplaceAll(hostname, "-", "")
	addr := fmt.Sprintf("100.64.%d.%d", len(tn.emu.VIPServices())%200, 10+ordinal)
	tn.emu.AddDevice(apiemulator.Device{ID: "id-" + nodeID, NodeID: nodeID, Hostname: hostname, Name: hostname + "." + domain,
		Tags: strings.Split(string(key.Data[pool.AuthKeyTagsKey]), ","), Addresses: []string{addr}, Created: time.Now()})
	raw, _ := json.Marshal(pool.MachineStatus{DeviceID: nodeID, Hostname: hostname, FQDN: hostname + "." + domain,
		TailnetIPs: []string{addr}, Ready: true, Updated: time.Now()})
	state := pool.StateSecretName(pod)
	c.eventually("state Secret of "+pod, time.Minute, func() error {
		_, err := c.secret(ns, state)
		return err
	})
	err := kubetest.Update(context.Background(), c.c, client.ObjectKey{Namespace: ns, Name: state}, func(sec *corev1.Secret) {
		sec.Data = map[string][]byte{pool.StatusKey: raw}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return nodeID
}

// recordedDevice waits until the operator has recorded machine ordinal's
// device in its auth key Secret.
func (c *cluster) recordedDevice(ns, poolName string, ordinal int, nodeID string) {
	c.t.Helper()
	name := pool.AuthKeySecretName(pool.PodName(poolName, ordinal))
	c.eventually("device recorded in "+name, time.Minute, func() error {
		sec, err := c.secret(ns, name)
		if err != nil {
			return err
		}
		if got := string(sec.Data[pool.DeviceIDKey]); got != nodeID {
			return fmt.Errorf("device-id is %q, want %q", got, nodeID)
		}
		return nil
	})
}

// inventory is what a tailnet holds, as its API lists it.
type inventory struct {
	vipServices []string
	devices     []string // hostnames
	liveKeys    map[string]string
}

func (tn *tailnetAPI) inventory() (inventory, error) {
	ctx := context.Background()
	inv := inventory{liveKeys: map[string]string{}}
	for _, s := range tn.emu.VIPServices() {
		inv.vipServices = append(inv.vipServices, s.Name)
	}
	devices, err := tn.api.ListDevices(ctx)
	if err != nil {
		return inv, err
	}
	for _, d := range devices {
		inv.devices = append(inv.devices, d.Hostname)
	}
	keys, err := tn.api.ListAuthKeys(ctx)
	if err != nil {
		return inv, err
	}
	for _, k := range keys {
		if !k.Revoked && !k.Invalid && k.Expires.After(time.Now()) {
			inv.liveKeys[k.ID] = k.Description
		}
	}
	slices.Sort(inv.vipServices)
	slices.Sort(inv.devices)
	return inv, nil
}

// empty is nil when the tailnet holds nothing of ours: no VIP service,
// no device, no key that could still admit a machine.
func (inv inventory) empty() error {
	if len(inv.vipServices)+len(inv.devices)+len(inv.liveKeys) == 0 {
		return nil
	}
	return fmt.Errorf("left in the tailnet: VIP services %v, devices %v, live keys %v", inv.vipServices, inv.devices, inv.liveKeys)
}

// heldKeys are the IDs of the keys the auth key Secrets of ns hold.
func (c *cluster) heldKeys(ns string) (map[string]bool, error) {
	list := &corev1.SecretList{}
	if err := c.c.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range list.Items {
		if id := string(s.Data[pool.AuthKeyIDKey]); id != "" {
			out[id] = true
		}
	}
	return out, nil
}

// everyKeyHeld is nil when every live key of the tailnet is held by an
// auth key Secret of ns: none was minted and lost.
func (c *cluster) everyKeyHeld(tn *tailnetAPI, ns string) error {
	inv, err := tn.inventory()
	if err != nil {
		return err
	}
	held, err := c.heldKeys(ns)
	if err != nil {
		return err
	}
	for id, desc := range inv.liveKeys {
		if !held[id] {
			return fmt.Errorf("key %s (%q) is live and held by no Secret", id, desc)
		}
	}
	return nil
}
