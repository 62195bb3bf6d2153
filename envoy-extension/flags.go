package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
)

// options are the command line's.
type options struct {
	listen        string
	healthListen  string
	clusterDomain string
	kubeconfig    string
	warnRoutes    bool
	level         slog.Level
	tls           tlsFlags
	printVersion  bool
}

// errPrinted marks an error the flag package has already printed, with the
// usage.
var errPrinted = errors.New("invalid command line")

// parseFlags parses the command line's arguments (without the program
// name). Errors say which flag to fix; flag.ErrHelp means -h was asked for.
func parseFlags(program string, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", ":5005", "address the gRPC server (the extension and the health service) listens on")
	fs.StringVar(&o.healthListen, "health-listen", "", "address serving only the gRPC health service, always in plain text, for the kubelet's gRPC probes, which cannot use TLS; empty: none")
	fs.StringVar(&o.clusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain, ending Service names as in <service>.<namespace>.svc.<domain>")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file for reading HTTPRoutes; default: the in-cluster config, else $KUBECONFIG; with neither, the port always comes from the TailscaleServices")
	fs.BoolVar(&o.warnRoutes, "warn-unsupported-routes", true, "put a Warning Event on each GRPCRoute, TCPRoute, TLSRoute or UDPRoute naming a TailscaleServices, which Envoy Gateway gives no endpoints; needs list and watch on those routes and create on events.k8s.io Events; false: none")
	fs.TextVar(&o.level, "log-level", slog.LevelInfo, "least severe level logged: debug, info, warn or error (debug logs every cluster rewritten)")
	fs.StringVar(&o.tls.cert, certFlag, "", "PEM certificate chain (leaf first) the gRPC listener serves with TLS; re-read when it changes; needs --"+keyFlag+"; empty: plain text")
	fs.StringVar(&o.tls.key, keyFlag, "", "PEM private key of --"+certFlag)
	fs.StringVar(&o.tls.clientCA, clientCAFlag, "", "PEM CA bundle: clients must present a certificate it verifies (mutual TLS); re-read when it changes; needs --"+certFlag)
	fs.BoolVar(&o.printVersion, "version", false, "print the version, commit and Go version, and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, fmt.Errorf("%w: %w", errPrinted, err)
	}
	if fs.NArg() > 0 {
		return options{}, errors.New("unexpected arguments after the flags: " + fs.Arg(0))
	}
	if err := o.tls.check(); err != nil {
		return options{}, err
	}
	return o, nil
}
