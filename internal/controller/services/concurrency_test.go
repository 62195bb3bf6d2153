package services

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func emulatedAPI(t *testing.T) (*apiemulator.Server, tsapi.Client) {
	t.Helper()
	emu := apiemulator.New(apiemulator.Options{ClientID: "k", ClientSecret: "s", TailnetDomain: "tail-test.ts.net"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	api, err := tsapi.New(tsapi.Config{BaseURL: srv.URL, ClientID: "k", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return emu, api
}

// 20 rounds in which operators attach and detach at the same time: no
// round loses a consumer that stays, or keeps one that left.
func TestConcurrentAttachAndDetachLoseNoConsumer(t *testing.T) {
	_, api := emulatedAPI(t)
	ctx := t.Context()
	now := time.Now()
	owner := coordination.Entry{OperatorID: "owner", Object: "default/db", LastSeen: now}
	reg := coordination.Registry{Owner: owner}
	if _, err := api.PutVIPService(ctx, tsapi.VIPService{Name: "svc:db", Ports: []string{"tcp:80"},
		Annotations: map[string]string{coordination.Annotation: reg.Render()}}); err != nil {
		t.Fatal(err)
	}
	stayer := coordination.Entry{OperatorID: "stayer", Object: "default/db"}
	attach := func(me coordination.Entry) error {
		return updateRegistry(ctx, api, "svc:db", func(r coordination.Registry) coordination.Registry {
			return coordination.Attach(r, me, now)
		}, func(tsapi.VIPService) {})
	}
	detach := func(me coordination.Entry) error {
		return updateRegistry(ctx, api, "svc:db", func(r coordination.Registry) coordination.Registry {
			if !r.Has(me) {
				return r
			}
			return coordination.Depart(r, me, now).Next
		}, func(tsapi.VIPService) {})
	}
	if err := attach(stayer); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 4 {
			me := coordination.Entry{OperatorID: fmt.Sprintf("op-%d", i), Object: "default/db"}
			wg.Go(func() {
				if round%2 == 0 {
					errs <- attach(me)
				} else {
					errs <- detach(me)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		svc, err := api.GetVIPService(ctx, "svc:db")
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := coordination.Parse(svc.Annotations)
		want := 1 // the stayer
		if round%2 == 0 {
			want = 5
		}
		if len(got.Consumers) != want || !got.Has(stayer) || !got.Owns(owner) {
			t.Fatalf("round %d: registry %s; want owner and %d consumers including the stayer", round, got.Render(), want)
		}
	}
}

// racingPolicy edits the policy behind the caller's back right after the
// caller's first read, as a person in the admin console would.
type racingPolicy struct {
	tsapi.Client
	once sync.Once
	edit func()
}

func (r *racingPolicy) GetPolicy(ctx context.Context) (tsapi.Policy, error) {
	p, err := r.Client.GetPolicy(ctx)
	r.once.Do(r.edit)
	return p, err
}

func TestAutoApproveNeverOverwritesAConcurrentPolicyEdit(t *testing.T) {
	_, api := emulatedAPI(t)
	ctx := t.Context()
	racer := &racingPolicy{Client: api, edit: func() {
		p, err := api.GetPolicy(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		edited := strings.Replace(string(p.HuJSON), "{", `{"tagOwners": {"tag:edited-meanwhile": ["autogroup:admin"]},`, 1)
		if _, err := api.SetPolicy(ctx, []byte(edited), p.ETag); err != nil {
			t.Errorf("the concurrent edit failed: %v", err)
		}
	}}
	if err := ensureApproval(ctx, racer, "svc:web", []string{"tag:web"}); err != nil {
		t.Fatal(err)
	}
	p, err := api.GetPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	approvers, err := tsapi.ParseServiceApprovers(p.HuJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p.HuJSON), "tag:edited-meanwhile") {
		t.Errorf("the concurrent edit was overwritten:\n%s", p.HuJSON)
	}
	if !approvers.Approves("svc:web", []string{"tag:web"}) {
		t.Errorf("svc:web is not approved for tag:web:\n%s", p.HuJSON)
	}
}
