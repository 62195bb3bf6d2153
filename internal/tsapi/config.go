package tsapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// DefaultBaseURL is Tailscale's public API.
const DefaultBaseURL = "https://api.tailscale.com"

// Config says how to reach one tailnet's API.
type Config struct {
	// BaseURL defaults to DefaultBaseURL. The token endpoint is
	// BaseURL + "/api/v2/oauth/token".
	BaseURL string
	// Tailnet defaults to "-": the tailnet of the OAuth client.
	Tailnet      string
	ClientID     string
	ClientSecret string
	// HTTPClient's Transport (and Timeout) are used for API and token
	// requests; nil means http.DefaultTransport with a one-minute timeout.
	HTTPClient *http.Client
	UserAgent  string
	Retry      RetryPolicy
}

// RetryPolicy bounds the retries of one call; the caller's context bounds
// them too. Zero fields take defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; default 5.
	MaxAttempts int
	// BaseDelay is the first backoff when the server gives no Retry-After;
	// it doubles per attempt up to MaxDelay. Defaults 500ms and 30s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Sleep waits between attempts; tests replace it to run without delay.
	// It must return ctx.Err() if ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

// String keeps the client secret out of logs and error messages.
func (c Config) String() string {
	return fmt.Sprintf("tsapi.Config{BaseURL:%q Tailnet:%q ClientID:%q ClientSecret:%s}",
		c.BaseURL, c.Tailnet, c.ClientID, redacted)
}

// GoString covers %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the client secret out of slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", c.BaseURL),
		slog.String("tailnet", c.Tailnet),
		slog.String("clientID", c.ClientID),
	)
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Tailnet == "" {
		c.Tailnet = "-"
	}
	if c.UserAgent == "" {
		c.UserAgent = "tailscale-gateway"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	c.Retry = c.Retry.withDefaults()
	return c
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
