package tsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func TestVIPServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	created, err := e.client.PutVIPService(ctx, webService())
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Addrs) != 2 {
		t.Fatalf("addrs = %v, want one IPv4 and one IPv6", created.Addrs)
	}
	got, err := e.client.GetVIPService(ctx, "svc:web")
	if err != nil || tsapi.NeedsUpdate(got, webService()) {
		t.Fatalf("get = %+v, %v; want what was put", got, err)
	}
	list, err := e.client.ListVIPServices(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "svc:web" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := e.client.DeleteVIPService(ctx, "svc:web"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetVIPService(ctx, "svc:web"); !tsapi.IsNotFound(err) {
		t.Fatalf("get after delete: err = %v, want not found", err)
	}
	if err := e.client.DeleteVIPService(ctx, "svc:web"); err != nil {
		t.Fatalf("deleting a missing service: %v, want nil", err)
	}
}

// TestPutVIPServiceSendsExistingAddrs checks the wire: an update without
// addrs sends the service's current addrs, so a server that took a missing
// field as "none" would still keep them.
func TestPutVIPServiceSendsExistingAddrs(t *testing.T) {
	emu := apiemulator.New(apiemulator.Options{ClientID: testClientID, ClientSecret: testClientSecret})
	var mu sync.Mutex
	var putBodies []tsapi.VIPService
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			var svc tsapi.VIPService
			_ = json.Unmarshal(body, &svc)
			mu.Lock()
			putBodies = append(putBodies, svc)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client, err := tsapi.New(tsapi.Config{BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := client.PutVIPService(ctx, webService())
	if err != nil {
		t.Fatal(err)
	}
	update := webService()
	update.Comment = "changed"
	second, err := client.PutVIPService(ctx, update)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first.Addrs, second.Addrs) {
		t.Errorf("addrs changed on update: %v → %v", first.Addrs, second.Addrs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(putBodies) != 2 || !slices.Equal(putBodies[1].Addrs, first.Addrs) {
		t.Errorf("update sent addrs %v, want %v", putBodies[len(putBodies)-1].Addrs, first.Addrs)
	}
}

func TestNeedsUpdate(t *testing.T) {
	base := webService()
	base.Addrs = []string{"100.100.1.2", "fd7a:115c:a1e0::6464:102"}
	tests := []struct {
		name   string
		change func(*tsapi.VIPService)
		want   bool
	}{
		{"identical", func(*tsapi.VIPService) {}, false},
		{"addrs are server-assigned", func(s *tsapi.VIPService) { s.Addrs = nil }, false},
		{"port order", func(s *tsapi.VIPService) { s.Ports = []string{"tcp:80"} }, false},
		{"nil vs empty annotations", func(s *tsapi.VIPService) { s.Annotations = map[string]string{"gateway.tailscale.com/owner": "op-1"} }, false},
		{"comment", func(s *tsapi.VIPService) { s.Comment = "other" }, true},
		{"extra port", func(s *tsapi.VIPService) { s.Ports = append(s.Ports, "tcp:443") }, true},
		{"tag", func(s *tsapi.VIPService) { s.Tags = []string{"tag:other"} }, true},
		{"annotation", func(s *tsapi.VIPService) { s.Annotations = map[string]string{"k": "v"} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := webService()
			tt.change(&desired)
			if got := tsapi.NeedsUpdate(base, desired); got != tt.want {
				t.Errorf("NeedsUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.PutVIPService(ctx, webService()); err != nil {
		t.Fatal(err)
	}
	e.emu.ResetRequests()
	actual, err := e.client.GetVIPService(ctx, "svc:web")
	if err != nil {
		t.Fatal(err)
	}
	if tsapi.NeedsUpdate(actual, webService()) {
		t.Fatal("NeedsUpdate after a put of the same service")
	}
	if w := e.emu.WriteRequests(); len(w) != 0 {
		t.Errorf("write requests = %+v, want none", w)
	}
}
