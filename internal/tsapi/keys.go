package tsapi

import (
	"context"
	"slices"
	"time"

	tailscale "tailscale.com/client/tailscale/v2"
)

func (c *apiClient) CreateAuthKey(ctx context.Context, req AuthKeyRequest) (AuthKey, error) {
	var body tailscale.CreateKeyRequest
	create := &body.Capabilities.Devices.Create
	create.Tags = slices.Clone(req.Tags)
	create.Preauthorized = true
	create.Reusable = false
	create.Ephemeral = false
	body.Description = req.Description
	body.ExpirySeconds = int64(req.Expiry / time.Second)

	key, err := c.v2.Keys().CreateAuthKey(ctx, body)
	if err != nil {
		return AuthKey{}, writeErr("create auth key", err)
	}
	return AuthKey{
		ID: key.ID, Key: NewSecret(key.Key), Description: key.Description,
		Tags: slices.Clone(key.Capabilities.Devices.Create.Tags), Created: key.Created, Expires: key.Expires,
	}, nil
}

func (c *apiClient) DeleteAuthKey(ctx context.Context, id string) error {
	err := wrapErr("delete auth key "+id, c.v2.Keys().Delete(ctx, id))
	if IsNotFound(err) {
		return nil
	}
	return err
}

func (c *apiClient) ListAuthKeys(ctx context.Context) ([]AuthKeyMeta, error) {
	keys, err := c.v2.Keys().List(ctx, false)
	if err != nil {
		return nil, wrapErr("list auth keys", err)
	}
	out := make([]AuthKeyMeta, 0, len(keys))
	for _, k := range keys {
		out = append(out, AuthKeyMeta{
			ID: k.ID, Description: k.Description, Tags: slices.Clone(k.Capabilities.Devices.Create.Tags),
			Created: k.Created, Expires: k.Expires, Revoked: !k.Revoked.IsZero(), Invalid: k.Invalid,
		})
	}
	return out, nil
}
