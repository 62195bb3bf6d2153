package lab_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"tailscale.com/tstest"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
)

// TestAuthKeysAndDeleteDevice: a node joins with an emulator key and gets
// its tags, the single-use key admits nobody else, and deleting the device
// through the API takes the node off the tailnet.
func TestAuthKeysAndDeleteDevice(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	l, emu := startLab(t, ctx, lab.Options{NoSOCKS5: true})
	api := newAPIClient(t, emu)
	key := api.createKey("tag:demo")

	keyed, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "keyed", AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "again", AuthKey: key}); err == nil {
		t.Fatal("a used single-use key admitted a second node")
	}
	if _, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "forged", AuthKey: "tskey-auth-forged"}); err == nil {
		t.Fatal("an unknown key admitted a node")
	}

	dev, ok := deviceNamed(l, "keyed")
	if !ok || !slices.Equal(dev.Tags, []string{"tag:demo"}) || dev.Name != "keyed."+l.Domain() {
		t.Fatalf("keyed device = %+v, %v; want tag:demo and name keyed.%s", dev, ok, l.Domain())
	}
	api.deleteDevice(dev.NodeID)
	if _, ok := deviceNamed(l, "keyed"); ok {
		t.Fatal("deleted device still listed")
	}
	// The node learns that its key expired and leaves the tailnet.
	lc, _ := keyed.LocalClient()
	eventually(t, ctx, "the deleted node to stop running", func() error {
		st, err := lc.StatusWithoutPeers(ctx)
		if err != nil {
			return err
		}
		if st.BackendState == "Running" {
			return errors.New("still running")
		}
		return nil
	})
	if err := l.DeleteDevice(dev.NodeID); err == nil {
		t.Fatal("deleting a deleted device succeeded")
	}
}

func deviceNamed(l *lab.Lab, hostname string) (apiemulator.Device, bool) {
	for _, d := range l.Devices() {
		if d.Hostname == hostname {
			return d, true
		}
	}
	return apiemulator.Device{}, false
}

// TestCloseLeavesNothingRunning: after Close, the goroutines of control,
// DERP, STUN, the router, the SOCKS5 proxy and the nodes are gone.
func TestCloseLeavesNothingRunning(t *testing.T) {
	tstest.ResourceCheck(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	l, err := lab.Start(ctx, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "late"}); !errors.Is(err, lab.ErrClosed) {
		t.Fatalf("NewNode after Close: %v, want ErrClosed", err)
	}
}
