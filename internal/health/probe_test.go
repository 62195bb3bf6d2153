package health

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var netDial = (&net.Dialer{}).DialContext

func runProbe(p Probe) error {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	return p.Run(ctx, netDial)
}

func TestHTTPProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	tests := []struct {
		path string
		pass bool
	}{{"/ok", true}, {"/moved", true}, {"/broken", false}}
	for _, tt := range tests {
		if err := runProbe(Probe{Protocol: HTTP, Address: addr, Path: tt.path}); (err == nil) != tt.pass {
			t.Errorf("GET %s: err = %v, want pass=%v", tt.path, err, tt.pass)
		}
	}
}

func TestHTTPSProbe(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	addr := srv.Listener.Addr().String()
	tests := []struct {
		name string
		tls  *tls.Config
		pass bool
	}{
		{"trusted root, name in certificate", &tls.Config{RootCAs: roots, ServerName: "example.com"}, true},
		{"trusted root, IP address", &tls.Config{RootCAs: roots}, true},
		{"wrong server name", &tls.Config{RootCAs: roots, ServerName: "wrong.example.org"}, false},
		{"untrusted certificate", nil, false},
	}
	for _, tt := range tests {
		err := runProbe(Probe{Protocol: HTTPS, Address: addr, Path: "/", TLS: tt.tls})
		if (err == nil) != tt.pass {
			t.Errorf("%s: err = %v, want pass=%v", tt.name, err, tt.pass)
		}
	}
}

func TestTCPProbeUpAndDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	p := Probe{Protocol: TCP, Address: addr}
	if err := runProbe(p); err != nil {
		t.Fatalf("listener up: %v", err)
	}
	ln.Close()
	if err := runProbe(p); err == nil {
		t.Fatal("listener down: probe passed")
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := runProbe(p); err != nil {
		t.Fatalf("listener back: %v", err)
	}
}

func TestUDPProbeUpAndDown(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	p := Probe{Protocol: UDP, Address: addr}
	if err := runProbe(p); err != nil {
		t.Fatalf("silent UDP server: %v", err)
	}
	go func() { // an echoing server passes too
		buf := make([]byte, 64)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(buf[:n], from)
		}
	}()
	if err := runProbe(p); err != nil {
		t.Fatalf("echoing UDP server: %v", err)
	}
	pc.Close()
	if err := runProbe(p); err == nil {
		t.Fatal("closed UDP port (ICMP port unreachable): probe passed")
	}
}
