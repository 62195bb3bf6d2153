package tsapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	tailscale "tailscale.com/client/tailscale/v2"
)

// apiClient implements Client on the v2 client, whose HTTP client carries
// our token and retry transports.
type apiClient struct {
	v2 *tailscale.Client
	// policyURL is used directly for SetPolicy, whose v2 version drops the
	// response's ETag.
	policyURL string
}

var _ Client = (*apiClient)(nil)

// New returns a Client for cfg. It makes no request until first used.
func New(cfg Config) (Client, error) {
	cfg = cfg.withDefaults()
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("tsapi: OAuth client ID and secret are required")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("tsapi: invalid base URL %q", cfg.BaseURL)
	}
	return &apiClient{
		v2: &tailscale.Client{
			BaseURL:   base,
			UserAgent: cfg.UserAgent,
			Tailnet:   cfg.Tailnet,
			HTTP:      httpClient(cfg),
		},
		policyURL: base.JoinPath("/api/v2/tailnet", url.PathEscape(cfg.Tailnet), "acl").String(),
	}, nil
}

// httpClient layers token → retry → the caller's transport. Token requests
// go through the retry layer too.
func httpClient(cfg Config) *http.Client {
	transport := cfg.HTTPClient.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	retrying := &retryTransport{base: transport, policy: cfg.Retry, now: time.Now}
	tokenClient := &http.Client{Transport: retrying, Timeout: cfg.HTTPClient.Timeout}
	return &http.Client{
		Transport: newTokenTransport(cfg, retrying, tokenClient),
		Timeout:   cfg.HTTPClient.Timeout,
	}
}
