package tsapi

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingClient answers lists and policy reads and counts the calls; any
// other call panics (the nil embedded Client), which is what a refused
// write must never reach.
type countingClient struct {
	Client
	services        []VIPService
	lists, policies int
}

func (c *countingClient) ListVIPServices(context.Context) ([]VIPService, error) {
	c.lists++
	return c.services, nil
}

func (c *countingClient) GetPolicy(context.Context) (Policy, error) {
	c.policies++
	return Policy{HuJSON: []byte(`{}`), ETag: "e1"}, nil
}

func TestSnapshotSharesReadsWithinTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	api := &countingClient{services: []VIPService{
		{Name: "svc:web", Annotations: map[string]string{"a": "1"}, Ports: []string{"tcp:80"}},
	}}
	s := &Snapshot{TTL: 10 * time.Second, Now: func() time.Time { return now }}
	ro := s.ReadOnly(api)
	ctx := context.Background()

	web, err := ro.GetVIPService(ctx, "svc:web")
	if err != nil || web.Name != "svc:web" {
		t.Fatalf("get: %+v, %v", web, err)
	}
	web.Annotations["a"] = "changed by the caller"
	if _, err := ro.GetVIPService(ctx, "svc:other"); !IsNotFound(err) {
		t.Fatalf("absent service: %v, want not found", err)
	}
	all, _ := ro.ListVIPServices(ctx)
	if len(all) != 1 || all[0].Annotations["a"] != "1" {
		t.Fatalf("list %+v: the snapshot must not share maps with callers", all)
	}
	if api.lists != 1 {
		t.Fatalf("%d lists for three reads within the TTL, want 1", api.lists)
	}

	now = now.Add(10 * time.Second)
	ro.GetVIPService(ctx, "svc:web")
	if api.lists != 2 {
		t.Fatalf("%d lists after the TTL, want 2", api.lists)
	}
	s.Invalidate()
	ro.GetVIPService(ctx, "svc:web")
	if api.lists != 3 {
		t.Fatalf("%d lists after Invalidate, want 3", api.lists)
	}

	ro.GetPolicy(ctx)
	ro.GetPolicy(ctx)
	if api.policies != 1 {
		t.Fatalf("%d policy reads within the TTL, want 1", api.policies)
	}
}

func TestSnapshotRefusesWrites(t *testing.T) {
	ro := (&Snapshot{TTL: time.Minute}).ReadOnly(&countingClient{})
	ctx := context.Background()
	for name, write := range map[string]func() error{
		"PutVIPService":    func() error { _, err := ro.PutVIPService(ctx, VIPService{Name: "svc:x"}); return err },
		"DeleteVIPService": func() error { return ro.DeleteVIPService(ctx, "svc:x") },
		"SetPolicy":        func() error { _, err := ro.SetPolicy(ctx, []byte(`{}`), "e1"); return err },
		"CreateAuthKey":    func() error { _, err := ro.CreateAuthKey(ctx, AuthKeyRequest{}); return err },
		"DeleteAuthKey":    func() error { return ro.DeleteAuthKey(ctx, "k") },
		"DeleteDevice":     func() error { return ro.DeleteDevice(ctx, "d") },
	} {
		if err := write(); !errors.Is(err, ErrNeedsFreshRead) {
			t.Errorf("%s: %v, want ErrNeedsFreshRead", name, err)
		}
	}
}
