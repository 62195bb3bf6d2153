package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/tlsfiles"
)

const (
	certFlag     = "tls-cert-file"
	keyFlag      = "tls-key-file"
	clientCAFlag = "tls-client-ca-file"
)

// tlsFlags are the paths the TLS flags give; all empty means plain text.
type tlsFlags struct{ cert, key, clientCA string }

func (f tlsFlags) check() error {
	switch {
	case (f.cert == "") != (f.key == ""):
		return errors.New("--" + certFlag + " and --" + keyFlag + " go together: give both or neither")
	case f.clientCA != "" && f.cert == "":
		return errors.New("--" + clientCAFlag + " needs TLS: give --" + certFlag + " and --" + keyFlag + " too")
	}
	return nil
}

// transportCredentials secures the gRPC listener with the files the flags
// name, or returns plain-text credentials, logging that anyone who can
// reach the listener can call the hooks. now is the clock deciding when the
// files are read again (nil: time.Now). transport says which, for the log.
func transportCredentials(f tlsFlags, now func() time.Time, log *slog.Logger) (creds credentials.TransportCredentials, transport string, err error) {
	if f.cert == "" {
		log.Warn("the gRPC listener is plain text and unauthenticated: anything that can reach it can call the extension's hooks; give --" + certFlag + " and --" + keyFlag + ", and --" + clientCAFlag + " to require Envoy Gateway's client certificate (README.md, \"TLS\")")
		return insecure.NewCredentials(), "plaintext", nil
	}
	files, err := tlsfiles.Load(tlsfiles.Config{
		Cert:     tlsfiles.File{Flag: "--" + certFlag, Path: f.cert},
		Key:      tlsfiles.File{Flag: "--" + keyFlag, Path: f.key},
		ClientCA: tlsfiles.File{Flag: "--" + clientCAFlag, Path: f.clientCA},
		Now:      now,
	}, log)
	if err != nil {
		return nil, "", err
	}
	creds = loggedHandshakes{credentials.NewTLS(files.ServerConfig()), log}
	if !files.MutualTLS() {
		log.Info("clients are not asked for a certificate: anything that can reach the listener can call the extension's hooks; give --" + clientCAFlag + " to require Envoy Gateway's client certificate")
		return creds, "tls", nil
	}
	return creds, "mutual-tls", nil
}

// loggedHandshakes logs the TLS handshakes that fail, which grpc-go logs
// only at its info level, off by default. Envoy Gateway waits for a
// connection with no deadline (README.md, "TLS"), so a certificate that
// either side refuses would otherwise show nowhere.
type loggedHandshakes struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (c loggedHandshakes) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, io.EOF) {
			level = slog.LevelDebug // closed before a word: a TCP check, not a TLS client
		}
		c.log.Log(context.Background(), level, "refused a TLS connection", "remote", raw.RemoteAddr().String(), "error", err)
	}
	return conn, info, err
}

func (c loggedHandshakes) Clone() credentials.TransportCredentials {
	return loggedHandshakes{c.TransportCredentials.Clone(), c.log}
}
