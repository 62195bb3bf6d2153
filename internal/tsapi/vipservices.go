package tsapi

import (
	"context"
	"maps"
	"slices"

	tailscale "tailscale.com/client/tailscale/v2"
)

func (c *apiClient) ListVIPServices(ctx context.Context) ([]VIPService, error) {
	list, err := c.v2.VIPServices().List(ctx)
	if err != nil {
		return nil, wrapErr("list VIP services", err)
	}
	out := make([]VIPService, 0, len(list))
	for _, s := range list {
		out = append(out, fromV2Service(s))
	}
	return out, nil
}

func (c *apiClient) GetVIPService(ctx context.Context, name string) (VIPService, error) {
	svc, err := c.v2.VIPServices().Get(ctx, name)
	if err != nil {
		return VIPService{}, wrapErr("get VIP service "+name, err)
	}
	return fromV2Service(*svc), nil
}

func (c *apiClient) PutVIPService(ctx context.Context, svc VIPService) (VIPService, error) {
	if len(svc.Addrs) == 0 {
		current, err := c.GetVIPService(ctx, svc.Name)
		switch {
		case err == nil:
			svc.Addrs = current.Addrs
		case !IsNotFound(err):
			return VIPService{}, err
		}
	}
	op := "put VIP service " + svc.Name
	if err := c.v2.VIPServices().CreateOrUpdate(ctx, toV2Service(svc)); err != nil {
		return VIPService{}, wrapErr(op, err)
	}
	return c.GetVIPService(ctx, svc.Name)
}

func (c *apiClient) DeleteVIPService(ctx context.Context, name string) error {
	err := wrapErr("delete VIP service "+name, c.v2.VIPServices().Delete(ctx, name))
	if IsNotFound(err) {
		return nil
	}
	return err
}

func fromV2Service(s tailscale.VIPService) VIPService {
	return VIPService{
		Name: s.Name, Comment: s.Comment, Annotations: maps.Clone(s.Annotations),
		Ports: slices.Clone(s.Ports), Tags: slices.Clone(s.Tags), Addrs: slices.Clone(s.Addrs),
	}
}

func toV2Service(s VIPService) tailscale.VIPService {
	return tailscale.VIPService{
		Name: s.Name, Comment: s.Comment, Annotations: maps.Clone(s.Annotations),
		Ports: slices.Clone(s.Ports), Tags: slices.Clone(s.Tags), Addrs: slices.Clone(s.Addrs),
	}
}
