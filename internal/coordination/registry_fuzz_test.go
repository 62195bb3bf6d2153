package coordination_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
)

// FuzzParse: the registry annotation is written by whoever can write the
// VIP service, so Parse must never panic, must refuse what no operator
// writes (too large, not a registry) with an error naming the annotation,
// and whatever it accepts must render back to itself and survive every
// decision made on it.
func FuzzParse(f *testing.F) {
	owner := entry("operator-a", t0)
	owner.Sharing, owner.Devices = true, []string{"n1", "n2"}
	for _, r := range []coordination.Registry{
		{},
		{Owner: owner},
		{Owner: owner, Consumers: []coordination.Entry{entry("operator-b", t0.Add(time.Minute)), entry("operator-c", t0.Add(-coordination.Expiry))}},
		{Consumers: []coordination.Entry{entry("operator-b", t0)}},
	} {
		f.Add(r.Render())
	}
	for _, raw := range []string{
		``, `null`, `{}`, `[]`, `"registry"`, `{"owner": null}`, `{"owner": {"operatorID": 7}}`,
		`{"owner": {"operatorID": "a", "lastSeen": "yesterday"}}`,
		`{"owner": {"operatorID": "a", "lastSeen": "2026-11-25T10:00:00+01:00"}, "consumers": []}`,
		`{"owner": {"operatorID": "a", "devices": []}, "consumers": [{}]}`,
		`{"owner": {"operatorID": "a"}}garbage`,
		`{"owner": {"operatorID": "\xff"}}`,
		`{"consumers": [` + strings.Repeat(`{"operatorID": "x", "object": "ns/x"},`, 10) + `{}]}`,
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		reg, ok, err := coordination.Parse(map[string]string{coordination.Annotation: raw})
		if err != nil {
			if ok {
				t.Error("ok = true with an error")
			}
			if !strings.Contains(err.Error(), coordination.Annotation) {
				t.Errorf("error %q does not name the annotation", err)
			}
			return
		}
		if !ok {
			t.Fatal("ok = false for an annotation that is there")
		}
		if len(raw) > coordination.MaxAnnotation {
			t.Fatalf("accepted %d bytes, more than MaxAnnotation", len(raw))
		}
		rendered := reg.Render()
		again, ok, err := coordination.Parse(map[string]string{coordination.Annotation: rendered})
		if err != nil || !ok {
			t.Fatalf("its own rendering does not parse: ok=%v err=%v\n%s", ok, err, rendered)
		}
		if !sameRegistry(reg, again) || again.Render() != rendered {
			t.Fatalf("round trip changed the registry:\n%s\n%s", rendered, again.Render())
		}
		// Every decision the controller makes on a registry it read.
		me := coordination.Entry{OperatorID: "operator-z", Object: "default/web", Devices: []string{"n9"}}
		now := t0.Add(time.Hour)
		coordination.Decide(reg, me, true)
		attached := coordination.Attach(reg, me, now)
		if !attached.Has(me) {
			t.Errorf("Attach left me out: %s", attached.Render())
		}
		if owned := coordination.ForOwner(&reg, me, now); !owned.Owns(me) {
			t.Errorf("ForOwner does not own: %s", owned.Render())
		}
		if d := coordination.Depart(attached, me, now); d.Next.Has(me) {
			t.Errorf("Depart kept me: %s", d.Next.Render())
		}
	})
}

// A registry in form, but larger than any operator writes, is refused
// (a seed that large would slow FuzzParse's every mutation down).
func TestParseRefusesHugeRegistry(t *testing.T) {
	raw := `{"owner": {"operatorID": "` + strings.Repeat("a", coordination.MaxAnnotation) + `"}}`
	_, ok, err := coordination.Parse(map[string]string{coordination.Annotation: raw})
	if err == nil || ok || !strings.Contains(err.Error(), coordination.Annotation) {
		t.Errorf("Parse of %d bytes: ok=%v err=%v, want an error naming the annotation", len(raw), ok, err)
	}
}

// FuzzRegistryRoundTrip: Parse(Render(r)) is r for any registry an
// operator can write (strings in UTF-8, as JSON carries them; times in the
// years JSON times can spell, as lastSeen is always a recent time).
func FuzzRegistryRoundTrip(f *testing.F) {
	f.Add("operator-a", "default/web", t0.Unix(), true, "n1", "operator-b", "shop/web", t0.Unix()+60, "")
	f.Add("", "", int64(0), false, "", "", "", int64(0), "")
	f.Add("operator-\u00e9", "ns/\"quoted\"", int64(-1), false, "n/1", "op<b>", "a\\b", int64(253402300799), "n2")
	f.Fuzz(func(t *testing.T, op, obj string, seen int64, sharing bool, dev, cop, cobj string, cseen int64, cdev string) {
		for _, s := range []string{op, obj, dev, cop, cobj, cdev} {
			if !utf8.ValidString(s) {
				return
			}
		}
		r := coordination.Registry{Owner: coordination.Entry{OperatorID: op, Object: obj, LastSeen: jsonTime(seen), Sharing: sharing, Devices: nonEmpty(dev)}}
		if cop != "" || cobj != "" {
			r.Consumers = []coordination.Entry{{OperatorID: cop, Object: cobj, LastSeen: jsonTime(cseen), Devices: nonEmpty(cdev)}}
		}
		rendered := r.Render()
		got, ok, err := coordination.Parse(map[string]string{coordination.Annotation: rendered})
		if len(rendered) > coordination.MaxAnnotation {
			if err == nil {
				t.Fatalf("accepted %d bytes", len(rendered))
			}
			return
		}
		if err != nil || !ok {
			t.Fatalf("Parse(Render(r)): ok=%v err=%v\n%s", ok, err, rendered)
		}
		if !sameRegistry(r, got) {
			t.Fatalf("Parse(Render(r)) != r:\n%+v\n%+v", r, got)
		}
	})
}

// jsonTime maps any int64 onto a second in the years 0 to 9999, the ones
// RFC 3339 can spell.
func jsonTime(sec int64) time.Time {
	const first, last = -62167219200, 253402300799 // 0000-01-01, 9999-12-31T23:59:59 UTC
	span := uint64(last - first + 1)
	return time.Unix(first+int64(uint64(sec)%span), 0).UTC()
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// sameRegistry compares registries as JSON carries them: times by the
// instant, an empty list like a missing one.
func sameRegistry(a, b coordination.Registry) bool {
	return sameEntry(a.Owner, b.Owner) && slices.EqualFunc(a.Consumers, b.Consumers, sameEntry)
}

func sameEntry(a, b coordination.Entry) bool {
	return a.OperatorID == b.OperatorID && a.Object == b.Object && a.LastSeen.Equal(b.LastSeen) &&
		a.Sharing == b.Sharing && slices.Equal(a.Devices, b.Devices)
}
