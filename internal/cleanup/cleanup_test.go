package cleanup

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	deleted := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	obj := func(annotations map[string]string) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{DeletionTimestamp: &metav1.Time{Time: deleted}, Annotations: annotations}
	}
	for _, tc := range []struct {
		name string
		obj  *metav1.ObjectMeta
		now  time.Time
		want Verdict
	}{
		{"just deleted", obj(nil), deleted.Add(time.Second), Retry},
		{"within the bound", obj(nil), deleted.Add(DefaultBound - time.Second), Retry},
		{"past the bound", obj(nil), deleted.Add(DefaultBound), GaveUp},
		{"skip asked", obj(map[string]string{SkipAnnotation: "true"}), deleted, Skipped},
		{"skip not true", obj(map[string]string{SkipAnnotation: "yes"}), deleted, Retry},
	} {
		if got := Decide(tc.obj, tc.now, DefaultBound); got != tc.want {
			t.Errorf("%s: Decide = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := RetryIn(obj(nil), deleted.Add(DefaultBound-5*time.Second), time.Minute, DefaultBound); got != 5*time.Second {
		t.Errorf("RetryIn near the bound = %s, want 5s", got)
	}
	if got := RetryIn(obj(nil), deleted, 30*time.Second, DefaultBound); got != 30*time.Second {
		t.Errorf("RetryIn early = %s, want the backoff", got)
	}
}
