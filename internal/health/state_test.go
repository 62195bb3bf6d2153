package health

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	th := Thresholds{Healthy: 2, Unhealthy: 3}
	tests := []struct {
		name    string
		results string // p = pass, f = fail
		want    State
	}{
		{"new backend is unknown", "", Unknown},
		{"first pass makes a new backend healthy", "p", Healthy},
		{"fails below threshold keep a new backend unknown", "ff", Unknown},
		{"new backend failing threshold times is unhealthy", "fff", Unhealthy},
		{"unknown then pass is healthy at once", "ffp", Healthy},
		{"healthy tolerates fewer failures than the threshold", "pff", Healthy},
		{"healthy turns unhealthy after threshold failures", "pfff", Unhealthy},
		{"a pass breaks the failure streak", "pffpff", Healthy},
		{"unhealthy needs healthyThreshold passes", "pfffp", Unhealthy},
		{"unhealthy recovers after healthyThreshold passes", "pfffpp", Healthy},
		{"a failure breaks the pass streak", "pfffpfp", Unhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			for _, r := range tt.results {
				tr = tr.Observe(r == 'p', th)
			}
			if tr.State() != tt.want {
				t.Fatalf("after %q: %v, want %v", tt.results, tr, tt.want)
			}
		})
	}
}

func TestOutlier(t *testing.T) {
	t0 := time.Unix(0, 0)
	cfg := DefaultOutlier
	type event struct {
		at   time.Duration
		fail bool
	}
	fails := func(at time.Duration, n int) []event {
		var out []event
		for range n {
			out = append(out, event{at, true})
		}
		return out
	}
	cat := func(evs ...[]event) []event {
		var out []event
		for _, e := range evs {
			out = append(out, e...)
		}
		return out
	}
	tests := []struct {
		name      string
		events    []event
		until     time.Duration // expected EjectedUntil since t0; 0 = never ejected
		ejections int
	}{
		{"four failures do not eject", fails(0, 4), 0, 0},
		{"five consecutive failures eject for 30s", fails(0, 5), 30 * time.Second, 1},
		{"a success resets the count", cat(fails(0, 4), []event{{0, false}}, fails(0, 4)), 0, 0},
		{"failures while ejected do not extend it", fails(0, 9), 30 * time.Second, 1},
		{"second ejection lasts 60s", cat(fails(0, 5), fails(31*time.Second, 5)), 91 * time.Second, 2},
		{"ejection is capped at 300s", func() []event {
			var evs []event
			at := time.Duration(0)
			for i := range 12 {
				evs = append(evs, fails(at, 5)...)
				at += min(30*time.Second*time.Duration(i+1), 300*time.Second) + time.Second
			}
			return evs
		}(), 0, 12},
		{"a long healthy spell resets the multiplier", cat(fails(0, 5), fails(31*time.Second, 5), fails(400*time.Second, 5)),
			430 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Outlier
			var last time.Time
			for _, e := range tt.events {
				last = t0.Add(e.at)
				if e.fail {
					o = o.DialFailed(last, cfg)
				} else {
					o = o.DialSucceeded()
				}
			}
			if o.Ejections() != tt.ejections {
				t.Fatalf("ejections = %d, want %d", o.Ejections(), tt.ejections)
			}
			if tt.until == 0 && tt.ejections == 0 && !o.EjectedUntil().IsZero() {
				t.Fatalf("ejected until %v, want never", o.EjectedUntil())
			}
			if tt.until != 0 {
				if got := o.EjectedUntil().Sub(t0); got != tt.until {
					t.Fatalf("ejected until t0+%v, want t0+%v", got, tt.until)
				}
				if !o.Ejected(last) || o.Ejected(t0.Add(tt.until)) {
					t.Fatalf("Ejected wrong around the boundary")
				}
			}
			if tt.ejections == 12 {
				if d := o.EjectedUntil().Sub(last); d != 300*time.Second {
					t.Fatalf("twelfth ejection lasts %v, want the 300s cap", d)
				}
			}
		})
	}
}
