package endpoints

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

var keyMinted = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func keySecret(hostname, tags string, created time.Time) *corev1.Secret {
	data := map[string][]byte{pool.HostnameKey: []byte(hostname), pool.AuthKeyTagsKey: []byte(tags)}
	if !created.IsZero() {
		data[pool.AuthKeyCreatedKey] = []byte(created.Format(time.RFC3339))
	}
	return &corev1.Secret{Data: data}
}

func TestIdentityOf(t *testing.T) {
	for name, tc := range map[string]struct {
		sec  *corev1.Secret
		want bool
	}{
		"complete":       {keySecret("web-0-default-abc123", "tag:a,tag:b", keyMinted), true},
		"no Secret":      {nil, false},
		"no hostname":    {keySecret("", "tag:a", keyMinted), false},
		"no tags":        {keySecret("web-0-default-abc123", "", keyMinted), false},
		"no key created": {keySecret("web-0-default-abc123", "tag:a", time.Time{}), false},
	} {
		if _, ok := identityOf(tc.sec); ok != tc.want {
			t.Errorf("%s: identityOf ok = %v, want %v", name, ok, tc.want)
		}
	}
}

// A device is the machine's only when hostname, tags and creation time all
// say so; a device of the same pod name in another namespace or cluster
// (web-0), one retagged, one older than the key, or one the API gives no
// creation time for is never taken for it.
func TestDisown(t *testing.T) {
	id, _ := identityOf(keySecret("web-0-default-abc123", "tag:a,tag:b", keyMinted))
	own := tsapi.Device{NodeID: "n1", Hostname: "web-0-default-abc123", Tags: []string{"tag:b", "tag:a"}, Created: keyMinted.Add(time.Second)}
	for name, tc := range map[string]struct {
		change func(*tsapi.Device)
		owned  bool
	}{
		"the machine's device":           {func(*tsapi.Device) {}, true},
		"created the second the key was": {func(d *tsapi.Device) { d.Created = keyMinted }, true},
		"bare pod name":                  {func(d *tsapi.Device) { d.Hostname = "web-0" }, false},
		"another cluster's machine":      {func(d *tsapi.Device) { d.Hostname = "web-0-default-ffffff" }, false},
		"a tag fewer":                    {func(d *tsapi.Device) { d.Tags = []string{"tag:a"} }, false},
		"a tag more":                     {func(d *tsapi.Device) { d.Tags = []string{"tag:a", "tag:b", "tag:c"} }, false},
		"older than the key":             {func(d *tsapi.Device) { d.Created = keyMinted.Add(-time.Second) }, false},
		"no creation time":               {func(d *tsapi.Device) { d.Created = time.Time{} }, false},
	} {
		d := own
		tc.change(&d)
		if why := id.disown(d); (why == "") != tc.owned {
			t.Errorf("%s: disown = %q, want owned %v", name, why, tc.owned)
		}
	}
}

func TestPickDevice(t *testing.T) {
	a, b := tsapi.Device{ID: "1", NodeID: "n1"}, tsapi.Device{ID: "2", NodeID: "n2"}
	for name, tc := range map[string]struct {
		own      []tsapi.Device
		reported string
		want     string
	}{
		"the only one, whatever the report says": {[]tsapi.Device{a}, "n-foreign", "n1"},
		"several: the reported one":              {[]tsapi.Device{a, b}, "n2", "n2"},
		"several: by legacy ID":                  {[]tsapi.Device{a, b}, "2", "n2"},
		"several, reported none of them":         {[]tsapi.Device{a, b}, "n-foreign", ""},
		"none":                                   {nil, "n1", ""},
	} {
		d, ok := pickDevice(tc.own, tc.reported)
		if got := deviceRef(d); (ok && got != tc.want) || (!ok && tc.want != "") {
			t.Errorf("%s: pickDevice = %q, %v; want %q", name, got, ok, tc.want)
		}
	}
}

func TestDisownKey(t *testing.T) {
	id, _ := identityOf(keySecret("web-0-default-abc123", "tag:a", keyMinted))
	desc := "tsgw operator-1 default web 0"
	own := tsapi.AuthKeyMeta{ID: "k1", Description: desc, Tags: []string{"tag:a"}, Created: keyMinted.Add(300 * time.Millisecond)}
	for name, tc := range map[string]struct {
		change func(*tsapi.AuthKeyMeta)
		owned  bool
	}{
		"the machine's key":      {func(*tsapi.AuthKeyMeta) {}, true},
		"another replica's":      {func(k *tsapi.AuthKeyMeta) { k.Description = "tsgw operator-1 default web 1" }, false},
		"another operator's":     {func(k *tsapi.AuthKeyMeta) { k.Description = "tsgw operator-2 default web 0" }, false},
		"other tags":             {func(k *tsapi.AuthKeyMeta) { k.Tags = []string{"tag:b"} }, false},
		"created another second": {func(k *tsapi.AuthKeyMeta) { k.Created = keyMinted.Add(time.Minute) }, false},
	} {
		k := own
		tc.change(&k)
		if why := disownKey(k, desc, id); (why == "") != tc.owned {
			t.Errorf("%s: disownKey = %q, want owned %v", name, why, tc.owned)
		}
	}
}
