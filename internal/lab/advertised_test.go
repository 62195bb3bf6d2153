package lab

import (
	"reflect"
	"testing"

	"tailscale.com/tailcfg"
	"tailscale.com/types/key"
)

func TestAdvertisementsUpdate(t *testing.T) {
	k1, k2 := key.NewNode().Public(), key.NewNode().Public()
	node := func(k key.NodePublic, hash string) *tailcfg.Node {
		return &tailcfg.Node{Key: k, Hostinfo: (&tailcfg.Hostinfo{ServicesHash: hash}).View()}
	}
	var a advertisements

	got := a.update([]*tailcfg.Node{node(k1, "h1"), node(k2, "")},
		map[key.NodePublic]advertisement{k1: {hash: "h1", services: []string{"svc:demo"}}})
	want := map[key.NodePublic][]string{k1: {"svc:demo"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after fetch: %v, want %v", got, want)
	}

	// A changed hash not yet fetched means the old answer is stale.
	if got := a.update([]*tailcfg.Node{node(k1, "h2")}, nil); len(got) != 0 {
		t.Fatalf("with stale answer: %v, want nothing", got)
	}

	// An empty hash means the node advertises nothing: forget it.
	a.update([]*tailcfg.Node{node(k1, "")}, nil)
	if _, ok := a.known[k1]; ok {
		t.Fatal("a node advertising nothing is still remembered")
	}
}
