package tsapi_test

import (
	"context"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func getWeb(ctx context.Context, c tsapi.Client) error {
	_, err := c.GetVIPService(ctx, "svc:web")
	return err
}

func putWeb(ctx context.Context, c tsapi.Client) error {
	_, err := c.PutVIPService(ctx, webService())
	return err
}

func deleteWeb(ctx context.Context, c tsapi.Client) error {
	return c.DeleteVIPService(ctx, "svc:web")
}

func createKey(ctx context.Context, c tsapi.Client) error {
	_, err := c.CreateAuthKey(ctx, tsapi.AuthKeyRequest{Tags: []string{"tag:web"}})
	return err
}
