package requeue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestOnConflict(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "gateway.tailscale.com", Resource: "tailscaleservices"},
		"web", errors.New("the object has been modified"))
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Resource: "configmaps"}, "web-proxy")
	other := errors.New("API down")
	for _, tc := range []struct {
		name    string
		res     reconcile.Result
		err     error
		wantRes reconcile.Result
		wantErr error
	}{
		{"success passes", reconcile.Result{RequeueAfter: time.Minute}, nil, reconcile.Result{RequeueAfter: time.Minute}, nil},
		{"conflict is a quiet retry", reconcile.Result{}, conflict, reconcile.Result{RequeueAfter: ConflictRetry}, nil},
		{"wrapped conflict too", reconcile.Result{}, fmt.Errorf("update status: %w", conflict), reconcile.Result{RequeueAfter: ConflictRetry}, nil},
		{"a create the cache had not seen yet too", reconcile.Result{}, exists, reconcile.Result{RequeueAfter: ConflictRetry}, nil},
		{"other errors pass", reconcile.Result{}, other, reconcile.Result{}, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := OnConflict(reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return tc.res, tc.err }))
			res, err := r.Reconcile(context.Background(), reconcile.Request{})
			if res != tc.wantRes || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Reconcile = %+v, %v; want %+v, %v", res, err, tc.wantRes, tc.wantErr)
			}
		})
	}
}
