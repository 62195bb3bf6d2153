package endpoints

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
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

// tailnetInventory is what the tailnet holds: devices and live keys by ID.
type tailnetInventory struct {
	devices map[string]tsapi.Device
	keys    map[string]tsapi.AuthKeyMeta
}

func (l *lab) inventory(t *testing.T) tailnetInventory {
	t.Helper()
	devices, err := l.api.ListDevices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := l.api.ListAuthKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	inv := tailnetInventory{devices: map[string]tsapi.Device{}, keys: map[string]tsapi.AuthKeyMeta{}}
	for _, d := range devices {
		inv.devices[d.NodeID] = d
	}
	for _, k := range keys {
		if !k.Revoked {
			inv.keys[k.ID] = k
		}
	}
	return inv
}

// only keeps the devices and keys named.
func (inv tailnetInventory) only(deviceIDs, keyIDs []string) tailnetInventory {
	out := tailnetInventory{devices: map[string]tsapi.Device{}, keys: map[string]tsapi.AuthKeyMeta{}}
	for _, id := range deviceIDs {
		if d, ok := inv.devices[id]; ok {
			out.devices[id] = d
		}
	}
	for _, id := range keyIDs {
		if k, ok := inv.keys[id]; ok {
			out.keys[id] = k
		}
	}
	return out
}

// machines waits until the pool's status shows the devices recorded, and
// returns its machines.
func (l *lab) recorded(t *testing.T, name string, devices ...string) []gatewayv1alpha1.Machine {
	t.Helper()
	var machines []gatewayv1alpha1.Machine
	eventually(t, fmt.Sprintf("%s records devices %v", name, devices), func() error {
		machines = l.pool(t, name).Status.Machines
		var got []string
		for _, m := range machines {
			got = append(got, m.DeviceID)
		}
		if !slices.Equal(got, devices) {
			return fmt.Errorf("recorded %v", got)
		}
		return nil
	})
	return machines
}

// Two clusters share one tailnet, with the same namespace and the same
// pool names. Creating, scaling and deleting pools in one never changes a
// device or key of the other; devices that merely look like a machine of
// the pool (its pod's name, its hostname but older than its key) survive;
// a machine's report naming the other cluster's device is ignored, with a
// Warning.
func TestClustersSharingATailnetNeverTouchEachOther(t *testing.T) {
	a := startLab(t)
	b := startCluster(t, a.emu, a.apiURL, "operator-b")
	for _, l := range []*lab{a, b} {
		l.create(t, webPool("web", "lab", 2))
		l.createBackend(t, "web")
	}
	a.report(t, "web-0", "a0")
	a.report(t, "web-1", "a1")
	b.report(t, "web-0", "b0")
	b.report(t, "web-1", "b1")
	ma, mb := a.recorded(t, "web", "a0", "a1"), b.recorded(t, "web", "b0", "b1")

	t.Run("machine names and key descriptions tell the clusters apart", func(t *testing.T) {
		names := map[string]bool{}
		for _, m := range slices.Concat(ma, mb) {
			names[m.Hostname] = true
			if !strings.HasPrefix(m.Hostname, m.Name+"-"+poolNS+"-") {
				t.Errorf("machine %s has hostname %q, want %s-%s-<hash>", m.Name, m.Hostname, m.Name, poolNS)
			}
		}
		if len(names) != 4 {
			t.Errorf("hostnames %v: want four different ones", slices.Collect(maps.Keys(names)))
		}
		inv := a.inventory(t)
		for _, op := range []string{"operator-a", "operator-b"} {
			for i := range 2 {
				want := fmt.Sprintf("tsgw %s %s web %d", op, poolNS, i)
				if !slices.ContainsFunc(slices.Collect(maps.Values(inv.keys)), func(k tsapi.AuthKeyMeta) bool { return k.Description == want }) {
					t.Errorf("no key described %q", want)
				}
			}
		}
	})

	// Decoys: a device named like the pod, as a pool of an older release
	// or another tool would name it, and one under a's web-0 hostname
	// created before its key.
	a.emu.AddDevice(apiemulator.Device{ID: "id-bare", NodeID: "bare", Hostname: "web-0", Name: "web-0." + domain,
		Tags: []string{"tag:web"}, Created: time.Now()})
	a.emu.AddDevice(apiemulator.Device{ID: "id-old", NodeID: "old", Hostname: ma[0].Hostname, Name: "old." + domain,
		Tags: []string{"tag:web"}, Created: time.Now().Add(-time.Hour)})
	bKeys := []string{b.authKeyID(t, "web-0"), b.authKeyID(t, "web-1")}
	others := a.inventory(t).only([]string{"b0", "b1", "bare", "old"}, bKeys)
	if len(others.devices) != 4 || len(others.keys) != 2 {
		t.Fatalf("inventory before: %+v", others)
	}
	untouched := func(t *testing.T) {
		t.Helper()
		after := a.inventory(t).only([]string{"b0", "b1", "bare", "old"}, bKeys)
		if diff := cmp.Diff(others, after, cmp.AllowUnexported(tailnetInventory{})); diff != "" {
			t.Errorf("the other cluster's devices and keys changed (-before +after):\n%s", diff)
		}
	}

	t.Run("a report naming another cluster's device is ignored on scale-down", func(t *testing.T) {
		a.writeReport(t, "web-1", pool.MachineStatus{DeviceID: "b1", Hostname: ma[1].Hostname, Ready: true, Updated: time.Now()})
		a.scale(t, "web", 1)
		eventually(t, "web-1 removed", func() error { return a.absent(&corev1.Secret{}, "web-1-authkey") })
		if _, ok := a.inventory(t).devices["a1"]; ok {
			t.Error("a1, web-1's own device, is still in the tailnet")
		}
		eventually(t, "a Warning about the report", func() error { return a.eventWithReason(EventDeviceNotOwned) })
		untouched(t)
	})

	t.Run("a machine that joined but never reported is found by its identity", func(t *testing.T) {
		a.create(t, webPool("quiet", "lab", 1))
		a.join(t, "quiet-0", "q0") // no report: the operator never recorded it
		a.emu.AddDevice(apiemulator.Device{ID: "id-bare-quiet", NodeID: "bare-quiet", Hostname: "quiet-0", Name: "quiet-0." + domain,
			Tags: []string{"tag:web"}, Created: time.Now()})
		if err := a.c.Delete(t.Context(), a.pool(t, "quiet")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "pool quiet gone", func() error { return a.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "quiet") })
		inv := a.inventory(t)
		if _, ok := inv.devices["q0"]; ok {
			t.Error("q0, quiet-0's device, is still in the tailnet")
		}
		if _, ok := inv.devices["bare-quiet"]; !ok {
			t.Error("a device merely named like the pod was deleted")
		}
		untouched(t)
	})

	t.Run("deleting the pool removes only its own machines", func(t *testing.T) {
		if err := a.c.Delete(t.Context(), a.pool(t, "web")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "pool web gone", func() error { return a.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
		if _, ok := a.inventory(t).devices["a0"]; ok {
			t.Error("a0, web-0's own device, is still in the tailnet")
		}
		untouched(t)
		if got := b.recorded(t, "web", "b0", "b1"); len(got) != 2 {
			t.Errorf("cluster b's pool: %+v", got)
		}
	})
}

// A recorded device ID is confirmed with the API before deletion: a
// record pointing at another cluster's device (an edited Secret) leaves
// that device alone, with a Warning.
func TestRecordedDeviceIsConfirmedBeforeDeletion(t *testing.T) {
	a := startLab(t)
	b := startCluster(t, a.emu, a.apiURL, "operator-b")
	a.create(t, webPool("web", "lab", 1))
	b.create(t, webPool("web", "lab", 1))
	a.report(t, "web-0", "a0")
	b.report(t, "web-0", "b0")
	a.recorded(t, "web", "a0")
	updateSecret(t, a, "web-0-authkey", func(sec *corev1.Secret) { sec.Data[pool.DeviceIDKey] = []byte("b0") })
	if err := a.c.Delete(t.Context(), a.pool(t, "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pool gone", func() error { return a.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
	if _, ok := a.inventory(t).devices["b0"]; !ok {
		t.Error("b0, the other cluster's device, was deleted")
	}
	eventually(t, "a Warning", func() error { return a.eventWithReason(EventDeviceNotOwned) })
}

// Objects of the pool's names that are not the pool's are left alone, with
// a Conflict condition and no key minted; an orphan labelled as ours is
// adopted; once the conflicting object is gone, the pool converges.
func TestExistingObjectsAreNotTakenOver(t *testing.T) {
	l := startLab(t)
	labels := map[string]string{"app": "someone-elses"}
	theirs := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: poolNS},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "someone/else:1"}}},
			},
		},
	}
	l.create(t, theirs)
	// An orphan labelled as ours (say, left by an earlier pool deleted
	// with orphaning) is adopted.
	l.create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "web-proxy", Namespace: poolNS,
		Labels: map[string]string{pool.LabelManagedBy: pool.ManagedBy}}})
	l.create(t, webPool("web", "lab", 1))
	l.createBackend(t, "web")
	l.waitCondition(t, "web", gatewayv1alpha1.ConditionReady, metav1.ConditionFalse, gatewayv1alpha1.ReasonConflict)
	msg := ""
	for _, c := range l.pool(t, "web").Status.Conditions {
		if c.Type == gatewayv1alpha1.ConditionReady {
			msg = c.Message
		}
	}
	if !strings.Contains(msg, "StatefulSet web") || !strings.Contains(msg, pool.LabelManagedBy) {
		t.Errorf("Ready message %q does not name the StatefulSet and the label", msg)
	}
	sts := &appsv1.StatefulSet{}
	if err := l.exists(sts, "web"); err != nil {
		t.Fatal(err)
	}
	if sts.ResourceVersion != theirs.ResourceVersion || len(sts.OwnerReferences) != 0 {
		t.Errorf("their StatefulSet was changed: resourceVersion %s→%s, owners %v", theirs.ResourceVersion, sts.ResourceVersion, sts.OwnerReferences)
	}
	if n := l.keysMinted(); n != 0 {
		t.Errorf("minted %d keys for machines whose StatefulSet is someone else's", n)
	}

	sa := &corev1.ServiceAccount{}
	if err := l.exists(sa, "web-proxy"); err != nil || !metav1.IsControlledBy(sa, l.pool(t, "web")) {
		t.Errorf("the orphaned ServiceAccount labelled as ours was not adopted: %v, owners %v", err, sa.OwnerReferences)
	}

	// Once their StatefulSet is gone, the pool converges.
	if err := l.c.Delete(t.Context(), sts); err != nil {
		t.Fatal(err)
	}
	l.waitCondition(t, "web", gatewayv1alpha1.ConditionReady, metav1.ConditionTrue, gatewayv1alpha1.ReasonPoolReady)
	eventually(t, "the pool's own StatefulSet", func() error {
		if err := l.exists(sts, "web"); err != nil {
			return err
		}
		if !metav1.IsControlledBy(sts, l.pool(t, "web")) {
			return fmt.Errorf("owners %v", sts.OwnerReferences)
		}
		return nil
	})
	if n := l.keysMinted(); n != 1 {
		t.Errorf("minted %d keys, want 1", n)
	}
}

// Deleting a namespace deletes the pool's Secrets while the pool's own
// finalizer waits to clean up: the auth key Secret, which proves the
// machine's device, stays until the device is gone.
func TestIdentityOutlivesItsSecretsDeletion(t *testing.T) {
	l := startLab(t)
	l.create(t, webPool("web", "lab", 1))
	l.report(t, "web-0", "n0")
	l.recorded(t, "web", "n0")
	for _, name := range []string{"web-0-authkey", "web-0-state"} {
		if err := l.c.Delete(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	sec := &corev1.Secret{}
	if err := l.exists(sec, "web-0-authkey"); err != nil || sec.DeletionTimestamp.IsZero() {
		t.Fatalf("auth key Secret after delete: %v, deletionTimestamp %v", err, sec.DeletionTimestamp)
	}
	if err := l.c.Delete(t.Context(), l.pool(t, "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pool gone", func() error { return l.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
	if got := l.deviceIDs(t); len(got) != 0 {
		t.Errorf("devices left: %v", got)
	}
	eventually(t, "auth key Secret gone", func() error { return l.absent(&corev1.Secret{}, "web-0-authkey") })
}

func updateSecret(t *testing.T, l *lab, name string, change func(*corev1.Secret)) {
	t.Helper()
	if err := kubetest.Update(t.Context(), l.c, client.ObjectKey{Namespace: poolNS, Name: name}, change); err != nil {
		t.Fatal(err)
	}
}

// A key minted for a machine by an operator that crashed before storing
// it is revoked before the machine's next key is minted; keys of other
// operators are left alone.
func TestOrphanedKeyIsRevoked(t *testing.T) {
	l := startLab(t)
	mint := func(operatorID string) string {
		key, err := l.api.CreateAuthKey(t.Context(), tsapi.AuthKeyRequest{Tags: []string{"tag:web"}, Description: keyDescription(operatorID, poolNS, "web", 0)})
		if err != nil {
			t.Fatal(err)
		}
		return key.ID
	}
	orphan, others := mint(l.operatorID), mint("operator-b")
	l.create(t, webPool("web", "lab", 1))
	eventually(t, "web-0's key stored", func() error { return l.exists(&corev1.Secret{}, "web-0-authkey") })
	eventually(t, "the orphan revoked", func() error {
		if l.liveKeys(t)[orphan] {
			return fmt.Errorf("orphaned key %s still valid", orphan)
		}
		return nil
	})
	if !l.liveKeys(t)[others] {
		t.Errorf("another operator's key %s was revoked", others)
	}
	if err := l.eventWithReason(EventOrphanKeyRevoked); err != nil {
		t.Error(err)
	}
}
