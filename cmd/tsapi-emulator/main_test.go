package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"complete", []string{"--client-id=a", "--client-secret=b", "--tailnet-domain=tail9.ts.net"}, false},
		{"missing secret", []string{"--client-id=a"}, true},
		{"unknown flag", []string{"--client-id=a", "--client-secret=b", "--nope"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseFlags(tt.args); (err != nil) != tt.wantErr {
				t.Errorf("parseFlags(%v) err = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestRunServesTheAPIUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, flags{listen: "127.0.0.1:0", clientID: "id", clientSecret: "secret", tailnetDomain: "tail9.ts.net"}, ready)
	}()
	addr := <-ready
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"id"}, "client_secret": {"secret"}}
	resp, err := http.Post("http://"+addr+"/api/v2/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token status = %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/emulator/faults")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin API status = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after cancel", err)
	}
}
