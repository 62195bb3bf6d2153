package hostile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// A machine's state Secret is written by its pod, so whoever controls the
// pod decides what the operator reads there. Whatever it is — a device
// of another operator or of another pool, a report of 1 MiB, or no JSON
// at all — the operator deletes only the machine's own device when the
// pool goes, panics nowhere, and keeps the pool's status and that of a
// TailscaleServices selecting it small enough for the API server, with
// the pool's Available condition naming the report and what is wrong.
func TestHostileMachineReports(t *testing.T) {
	l := start(t)
	// Devices that are not the machines': one of another operator's pools,
	// and one of this operator's pool "api".
	otherHost := pool.MachineHostname("other-op", appNS, "web", 0)
	l.emu.AddDevice(apiemulator.Device{ID: "id-other", NodeID: "other-op-dev", Hostname: otherHost, Name: otherHost + "." + domain,
		Tags: []string{poolTag}, Addresses: []string{"100.64.9.9"}, Created: time.Now()})
	l.createPool("api")
	apiDevice := l.join("api", "api-dev")

	for _, tc := range []struct {
		name string
		// pool is the pool (and TailscaleServices) of the case.
		pool string
		// status is the value of pool.StatusKey; pod is the machine's.
		status func(pod string) []byte
		// says is what the pool's Available condition must say.
		says func(pod, own string) []string
	}{{
		name:   "another operator's device",
		pool:   "foreign-operator",
		status: func(pod string) []byte { return report(pod, "other-op-dev") },
		says: func(pod, own string) []string {
			return []string{"machine " + pod + " reports device other-op-dev, not its own device " + own}
		},
	}, {
		name:   "another pool's device",
		pool:   "foreign-pool",
		status: func(pod string) []byte { return report(pod, apiDevice) },
		says: func(pod, own string) []string {
			return []string{"machine " + pod + " reports device " + apiDevice + ", not its own device " + own}
		},
	}, {
		name:   "1 MiB",
		pool:   "huge",
		status: megabyteReport,
		says: func(pod, _ string) []string {
			return []string{pool.StateSecretName(pod), pool.StatusKey, "is ignored", fmt.Sprintf("more than %d", pool.MaxReport)}
		},
	}, {
		name:   "invalid JSON",
		pool:   "garbage",
		status: func(string) []byte { return []byte(`{"deviceID": "other-op-dev", "ready": tru`) },
		says: func(pod, _ string) []string {
			return []string{pool.StateSecretName(pod), pool.StatusKey, "is ignored", "not a report"}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			name := tc.pool
			pod := pool.PodName(name, 0)
			ep := l.createPool(name)
			own := l.join(name, name+"-dev")
			l.writeState(pod, map[string][]byte{
				pool.StatusKey: tc.status(pod),
				// Written by Tailscale's state store once the node logged
				// in: the machine has a device, whatever its report says.
				"_current-profile": []byte("profile-1"),
			})
			// The status checks do not end the test: what is deleted with
			// the pool is checked either way.
			err := await("the pool's Available condition names the problem", func() error {
				if err := l.c.Get(context.Background(), client.ObjectKeyFromObject(ep), ep); err != nil {
					return err
				}
				return hasCondition(ep.Status.Conditions, gatewayv1alpha1.ConditionAvailable, "", tc.says(pod, own)...)
			})
			if err != nil {
				t.Error(err)
			}
			bounded(t, "pool "+name, ep.Status, ep.Status.Conditions)

			// A TailscaleServices reads the same reports for its status.
			ts := l.createFailoverService(name)
			err = await("the TailscaleServices' status lists the pool", func() error {
				if err := l.c.Get(context.Background(), client.ObjectKeyFromObject(ts), ts); err != nil {
					return err
				}
				for _, se := range ts.Status.SelectedEndpoints {
					if se.Name == name {
						return nil
					}
				}
				return fmt.Errorf("selected %+v; conditions %s", ts.Status.SelectedEndpoints, describe(ts.Status.Conditions))
			})
			if err != nil {
				t.Error(err)
			}
			bounded(t, "TailscaleServices "+name, ts.Status, ts.Status.Conditions)
			l.deleteAndWait(ts)

			others := l.devicesExcept(own)
			l.deleteAndWait(ep)
			after := l.devicesExcept("")
			if _, ok := after[own]; ok {
				t.Errorf("the machine's own device %s is still in the tailnet: the pool's cleanup did not run", own)
			}
			for id, d := range others {
				if got, ok := after[id]; !ok {
					t.Errorf("device %s (%s), not the machine's, was deleted", id, d.Hostname)
				} else if !reflect.DeepEqual(got, d) {
					t.Errorf("device %s, not the machine's, changed:\nbefore %+v\nafter  %+v", id, d, got)
				}
			}
		})
	}
}

// createPool makes a pool of one machine, labelled hostile=<name>, that
// forwards to a fixed address.
func (l *lab) createPool(name string) *gatewayv1alpha1.TailscaleEndpoints {
	l.t.Helper()
	ep := &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: appNS, Labels: map[string]string{"hostile": name}},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: "lab",
			Tags:    []gatewayv1alpha1.Tag{poolTag},
			Proxy: gatewayv1alpha1.ProxySpec{
				Replicas: ptr.To[int32](1), ConnectionType: gatewayv1alpha1.ConnectionTypeIngress,
				Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: gatewayv1alpha1.ProtocolTCP}},
			},
			Backend: &gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{"10.0.0.7:8080"}},
		},
	}
	l.create(ep)
	return ep
}

// createFailoverService makes a TailscaleServices named like the pool
// that selects it, with the failover strategy, whose status copies what
// the machines report of their active tier and failovers.
func (l *lab) createFailoverService(name string) *gatewayv1alpha1.TailscaleServices {
	l.t.Helper()
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: appNS},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"hostile": name}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{Tags: []gatewayv1alpha1.Tag{poolTag}},
			LoadBalancing: &gatewayv1alpha1.LoadBalancingSpec{Strategy: gatewayv1alpha1.StrategyFailover,
				FailoverConfig: &gatewayv1alpha1.FailoverConfig{PrimaryEndpoints: []string{name}}},
		},
	}
	l.create(ts)
	return ts
}

// join does what the pool's machine does with the key in its auth key
// Secret: it joins the tailnet under the hostname and tags the operator
// chose, as device deviceID, created now.
func (l *lab) join(poolName, deviceID string) string {
	l.t.Helper()
	pod := pool.PodName(poolName, 0)
	sec := &corev1.Secret{}
	l.eventually("the auth key Secret of "+pod, func() error {
		return l.c.Get(context.Background(), client.ObjectKey{Namespace: appNS, Name: pool.AuthKeySecretName(pod)}, sec)
	})
	hostname := string(sec.Data[pool.HostnameKey])
	l.emu.AddDevice(apiemulator.Device{ID: "id-" + deviceID, NodeID: deviceID, Hostname: hostname, Name: hostname + "." + domain,
		Tags: strings.Split(string(sec.Data[pool.AuthKeyTagsKey]), ","), Addresses: []string{"100.64.0.1"}, Created: time.Now()})
	return deviceID
}

// writeState writes data into the machine's state Secret, as the machine
// (or whoever controls its pod) may.
func (l *lab) writeState(pod string, data map[string][]byte) {
	l.t.Helper()
	key := client.ObjectKey{Namespace: appNS, Name: pool.StateSecretName(pod)}
	l.eventually("the state Secret of "+pod, func() error { return l.c.Get(context.Background(), key, &corev1.Secret{}) })
	// The operator writes the Secret too (its labels and owner).
	if err := kubetest.Update(context.Background(), l.c, key, func(sec *corev1.Secret) { sec.Data = data }); err != nil {
		l.t.Fatal(err)
	}
}

// devicesExcept is the tailnet's devices by node ID, but for skip.
func (l *lab) devicesExcept(skip string) map[string]tsapi.Device {
	l.t.Helper()
	devices, err := l.api.ListDevices(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	out := map[string]tsapi.Device{}
	for _, d := range devices {
		if d.NodeID != skip {
			out[d.NodeID] = d
		}
	}
	return out
}

// report is what a machine writes, but naming device.
func report(pod, device string) []byte {
	raw, _ := json.Marshal(pool.MachineStatus{DeviceID: device, Hostname: pod, FQDN: pod + "." + domain,
		TailnetIPs: []string{"100.64.0.1"}, Ready: true, ConfigGeneration: "1", Updated: time.Now()})
	return raw
}

// megabyteReport is a report in form whose every field a status copies
// is huge: the whole of a Secret's 1 MiB, but for a little room for the
// state store's key.
func megabyteReport(pod string) []byte {
	const size = 1<<20 - 1<<10
	third := strings.Repeat("x", size/3-200)
	raw, _ := json.Marshal(pool.MachineStatus{DeviceID: "other-op-dev", FQDN: third, TailnetIPs: []string{"100.64.0.1"}, Ready: true,
		Services: map[string]pool.ServiceReport{"svc:" + strings.TrimSuffix(pod, "-0") + ":80": {ActiveTier: third, FailoverReason: third}},
		Updated:  time.Now()})
	return raw
}
