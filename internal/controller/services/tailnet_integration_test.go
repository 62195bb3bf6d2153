package services_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// otherTailnet adds a TailscaleTailnet named other, served by an emulator
// of its own beside the default tailnet's (lab), and returns its API.
func (f *fixture) otherTailnet(t *testing.T) tsapi.Client {
	t.Helper()
	emu := apiemulator.New(apiemulator.Options{ClientID: clientID, ClientSecret: clientSecret, TailnetDomain: "tail-other.ts.net"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	lab := &gatewayv1alpha1.TailscaleTailnet{}
	if err := f.env.Client.Get(t.Context(), client.ObjectKey{Name: "lab"}, lab); err != nil {
		t.Fatal(err)
	}
	tn := &gatewayv1alpha1.TailscaleTailnet{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: *lab.Spec.DeepCopy()}
	tn.Spec.APIBaseURL = srv.URL
	f.create(t, tn)
	api, err := tsapi.New(tsapi.Config{BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// in says whether the tailnet has the VIP service.
func in(ctx context.Context, api tsapi.Client, name string) string {
	_, err := api.GetVIPService(ctx, name)
	switch {
	case err == nil:
		return "present"
	case tsapi.IsNotFound(err):
		return "absent"
	}
	return err.Error()
}

// Pools in a tailnet other than the default, deleted before their
// TailscaleServices: status.tailnet recorded where the VIP service lives,
// so deleting the TailscaleServices afterwards deletes it from there (the
// pools, gone, no longer say where it is, and the default tailnet never
// had it).
func TestReleaseFromRecordedTailnetAfterPoolsAreGone(t *testing.T) {
	f := start(t)
	other := f.otherTailnet(t)
	f.teamPool(t, ns, "web", "other", "tag:web")
	f.teamService(t, ns, "web", "svc:web", nil, false, "")
	eventually(t, "svc:web registered in tailnet other, and recorded", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		return condition(ts, "VIPServiceReady") == "True/Registered" && ts.Status.Tailnet == "other" && in(ctx, other, "svc:web") == "present",
			fmt.Sprintf("%s, status.tailnet %q, other: %s", condition(ts, "VIPServiceReady"), ts.Status.Tailnet, in(ctx, other, "svc:web"))
	})
	if got := in(t.Context(), f.api, "svc:web"); got != "absent" {
		t.Fatalf("svc:web in the default tailnet: %s", got)
	}

	if err := f.env.Client.Delete(t.Context(), &gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no pool selected; the tailnet still recorded", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		return condition(ts, "Selected") == "False/NoPoolsSelected" && ts.Status.Tailnet == "other",
			fmt.Sprintf("%s, status.tailnet %q", condition(ts, "Selected"), ts.Status.Tailnet)
	})

	if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the object gone and svc:web deleted from tailnet other", func(ctx context.Context) (bool, string) {
		err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &gatewayv1alpha1.TailscaleServices{})
		return apierrors.IsNotFound(err) && in(ctx, other, "svc:web") == "absent",
			fmt.Sprintf("object: %v, other: %s", err, in(ctx, other, "svc:web"))
	})
	if got := in(t.Context(), f.api, "svc:web"); got != "absent" {
		t.Errorf("svc:web in the default tailnet: %s", got)
	}
}

// Pools that move to another tailnet take the VIP service with them: it is
// released from the tailnet status.tailnet records (deleted there, since
// nobody else uses it), created in the pools' new tailnet, and recorded.
func TestVIPServiceFollowsPoolsToAnotherTailnet(t *testing.T) {
	f := start(t)
	other := f.otherTailnet(t)
	f.teamPool(t, ns, "web", "other", "tag:web")
	f.teamService(t, ns, "web", "svc:web", nil, false, "")
	eventually(t, "svc:web in tailnet other", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		return ts.Status.Tailnet == "other" && in(ctx, other, "svc:web") == "present",
			fmt.Sprintf("status.tailnet %q, other: %s", ts.Status.Tailnet, in(ctx, other, "svc:web"))
	})

	if err := kubetest.Update(t.Context(), f.env.Client, client.ObjectKey{Namespace: ns, Name: "web"}, func(ep *gatewayv1alpha1.TailscaleEndpoints) {
		ep.Spec.Tailnet = "lab"
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "svc:web deleted from other, registered in lab, recorded", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "web")
		return ts.Status.Tailnet == "lab" && condition(ts, "VIPServiceReady") == "True/Registered" &&
				in(ctx, other, "svc:web") == "absent" && in(ctx, f.api, "svc:web") == "present",
			fmt.Sprintf("status.tailnet %q, %s, other: %s, lab: %s", ts.Status.Tailnet, condition(ts, "VIPServiceReady"),
				in(ctx, other, "svc:web"), in(ctx, f.api, "svc:web"))
	})
	eventually(t, "one TailnetChanged Event", func(ctx context.Context) (bool, string) {
		n := f.events(ctx, ns, "web", "TailnetChanged")
		return n == 1, fmt.Sprint(n, " Events")
	})
}

// events counts the Events of a reason about an object, of either type.
func (f *fixture) events(ctx context.Context, namespace, name, reason string) int {
	var list eventsv1.EventList
	if err := f.env.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return -1
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			n++
		}
	}
	return n
}
