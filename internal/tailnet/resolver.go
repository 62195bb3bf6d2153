// Package tailnet turns a TailscaleTailnet name into a working Tailscale API
// client and what else the operator needs to know of that tailnet (its
// control server and MagicDNS domain). Every controller asks it; only the
// TailscaleTailnet controller writes the TailscaleTailnet status it reads.
package tailnet

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// Keys of the OAuth client Secret.
const (
	ClientIDKey     = "client_id"
	ClientSecretKey = "client_secret"
)

// Why a tailnet cannot be used. Each is also a Ready condition reason.
var (
	ErrTailnetNotFound = errors.New(gatewayv1alpha1.ReasonTailnetNotFound)
	ErrSecretMissing   = errors.New(gatewayv1alpha1.ReasonSecretMissing)
	ErrKeyMissing      = errors.New(gatewayv1alpha1.ReasonSecretKeyMissing)
)

// Info is what the operator knows of a tailnet besides its API.
type Info struct {
	// Name of the TailscaleTailnet.
	Name string
	// ControlURL is the coordination server its machines join.
	ControlURL string
	// Domain is its MagicDNS domain, when known.
	Domain string
	// Access says which namespaces may use it, and how (tenancy.Check);
	// nil lets nobody.
	Access *gatewayv1alpha1.TailnetAccess
}

// Resolver gives the API client and Info of a TailscaleTailnet by name.
// Info is filled whenever the TailscaleTailnet could be read, even when
// its credentials cannot be used (the error says why), so that who may
// use the tailnet is known before its API is; its Name is empty otherwise.
type Resolver interface {
	Resolve(ctx context.Context, name string) (tsapi.Client, Info, error)
}

// Clients resolves tailnets from the cluster, keeping one API client per
// tailnet that is rebuilt when its credentials change.
type Clients struct {
	Reader client.Reader
	// Namespace of OAuth Secrets whose reference names none (the operator's).
	Namespace string
	// Default is the tailnet used when a pool names none.
	Default string
	Cache   *tsapi.Cache
}

// NewClients returns a resolver reading from r.
func NewClients(r client.Reader, namespace, defaultTailnet string) *Clients {
	return &Clients{Reader: r, Namespace: namespace, Default: defaultTailnet, Cache: tsapi.NewCache(nil)}
}

// Resolve implements Resolver.
func (c *Clients) Resolve(ctx context.Context, name string) (tsapi.Client, Info, error) {
	name = Named(name, c.Default)
	tn := &gatewayv1alpha1.TailscaleTailnet{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, tn); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, Info{}, fmt.Errorf("%w: TailscaleTailnet %q does not exist", ErrTailnetNotFound, name)
		}
		return nil, Info{}, err
	}
	cfg, version, err := c.config(ctx, tn)
	if err != nil {
		return nil, InfoOf(tn), err
	}
	api, err := c.Cache.Get(name, cfg, version)
	if err != nil {
		return nil, InfoOf(tn), err
	}
	return api, InfoOf(tn), nil
}

// InfoOf is the Info a TailscaleTailnet gives.
func InfoOf(tn *gatewayv1alpha1.TailscaleTailnet) Info {
	return Info{Name: tn.Name, ControlURL: tn.Spec.CoordinationServerURL, Domain: tn.Status.MagicDNSDomain, Access: tn.Spec.Access}
}

// config reads the OAuth credentials of a tailnet. The Secret's
// resourceVersion versions the cached client.
func (c *Clients) config(ctx context.Context, tn *gatewayv1alpha1.TailscaleTailnet) (tsapi.Config, string, error) {
	ref := tn.Spec.OAuthSecretRef
	ns := ref.Namespace
	if ns == "" {
		ns = c.Namespace
	}
	sec := &corev1.Secret{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return tsapi.Config{}, "", fmt.Errorf("%w: Secret %s/%s named by spec.oauthSecretRef does not exist", ErrSecretMissing, ns, ref.Name)
		}
		return tsapi.Config{}, "", err
	}
	for _, k := range []string{ClientIDKey, ClientSecretKey} {
		if len(sec.Data[k]) == 0 {
			return tsapi.Config{}, "", fmt.Errorf("%w: Secret %s/%s has no %q key; add the OAuth client's %s", ErrKeyMissing, ns, ref.Name, k, k)
		}
	}
	return tsapi.Config{
		BaseURL:      tn.Spec.APIBaseURL,
		Tailnet:      tn.Spec.Tailnet,
		ClientID:     string(sec.Data[ClientIDKey]),
		ClientSecret: string(sec.Data[ClientSecretKey]),
		UserAgent:    "tailscale-gateway",
	}, sec.ResourceVersion, nil
}

// Named is the TailscaleTailnet an object naming name uses: name itself,
// or defaultTailnet (the operator's --default-tailnet) when it names none.
// Every controller resolves a pool's or service's tailnet through it.
func Named(name, defaultTailnet string) string {
	if name == "" {
		return defaultTailnet
	}
	return name
}
