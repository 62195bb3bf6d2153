package tsapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const tokenPath = "/api/v2/oauth/token"

var errNotRewindable = errors.New("tsapi: request body cannot be replayed for a retry")

// tokenTransport adds an OAuth access token to each request. Unlike
// oauth2.Transport it fetches tokens with the request's context, so a slow
// token endpoint cannot outlast the caller, and it drops a token the API
// rejects so the next call fetches a fresh one.
type tokenTransport struct {
	base   http.RoundTripper
	config clientcredentials.Config
	// tokenClient sends token requests (with retries).
	tokenClient *http.Client

	mu    sync.Mutex
	token *oauth2.Token
}

func newTokenTransport(cfg Config, base http.RoundTripper, tokenClient *http.Client) *tokenTransport {
	return &tokenTransport{
		base: base,
		config: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.BaseURL + tokenPath,
			AuthStyle:    oauth2.AuthStyleInParams,
		},
		tokenClient: tokenClient,
	}
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := t.validToken(req.Context())
	if err != nil {
		return nil, err
	}
	authed := req.Clone(req.Context())
	token.SetAuthHeader(authed)
	resp, err := t.base.RoundTrip(authed)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.forget(token)
	}
	return resp, err
}

func (t *tokenTransport) validToken(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token.Valid() {
		return t.token, nil
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, t.tokenClient)
	token, err := t.config.Token(ctx)
	if err != nil {
		return nil, err
	}
	if token.Expiry.IsZero() {
		token.Expiry = time.Now().Add(time.Hour)
	}
	t.token = token
	return token, nil
}

func (t *tokenTransport) forget(token *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token = nil
	}
}
