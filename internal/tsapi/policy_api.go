package tsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

func (c *apiClient) GetPolicy(ctx context.Context) (Policy, error) {
	raw, err := c.v2.PolicyFile().Raw(ctx)
	if err != nil {
		return Policy{}, wrapErr("get policy", err)
	}
	return Policy{HuJSON: []byte(raw.HuJSON), ETag: strings.Trim(raw.ETag, `"`)}, nil
}

var errETagRequired = errors.New("tsapi: set policy: an ETag is required: policy updates are always conditional")

// SetPolicy posts the HuJSON policy with If-Match and returns the new ETag.
// It is sent directly (the v2 client's Set drops the response's ETag). A
// 5xx is not retried and is reported with OutcomeUnknown; re-read the
// policy to learn whether it was applied.
func (c *apiClient) SetPolicy(ctx context.Context, hujson []byte, etag string) (string, error) {
	const op = "set policy"
	if etag == "" {
		return "", errETagRequired
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.policyURL, bytes.NewReader(hujson))
	if err != nil {
		return "", wrapErr(op, err)
	}
	req.Header.Set("Content-Type", "application/hujson")
	req.Header.Set("Accept", "application/hujson")
	req.Header.Set("If-Match", `"`+strings.Trim(etag, `"`)+`"`)
	req.Header.Set("User-Agent", c.v2.UserAgent)
	resp, err := c.v2.HTTP.Do(req)
	if err != nil {
		return "", wrapErr(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return "", writeErr(op, responseError(resp))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return strings.Trim(resp.Header.Get("ETag"), `"`), nil
}

// responseError reads the API's {"message": ...} error body.
func responseError(resp *http.Response) error {
	var body struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &body); err != nil {
		body.Message = fmt.Sprintf("unreadable error body (%d bytes)", len(raw))
	}
	return &APIError{Status: resp.StatusCode, Message: body.Message}
}
