// Command imagebuild builds Tailscale Gateway's container images without a
// container runtime: static Go binaries for linux/amd64 and linux/arm64, each
// on an empty base with CA roots and a nonroot user, assembled with
// go-containerregistry into one OCI image layout (directory and tarball) per
// component, plus digests.txt. `make images` runs it:
//
//	go -C hack/tools run ./imagebuild --repo ../.. --out ../../bin/images \
//	    --version 0.1.0 --commit <sha> --source-date-epoch <unix seconds>
//
// The same commit, version and Go toolchain build byte-identical images:
// binaries are built with -trimpath and an empty build ID, and every file
// time, owner, mode and order in the layers and tarballs is fixed.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	var opts options
	flag.StringVar(&opts.repo, "repo", "../..", "root of the Tailscale Gateway repository")
	flag.StringVar(&opts.out, "out", "../../bin/images", "directory the images are written to (its component entries are replaced)")
	flag.StringVar(&opts.version, "version", "", "release version, the images' tag (default: the repository's VERSION file)")
	flag.StringVar(&opts.commit, "commit", "unknown", "git commit the images are built from")
	flag.Int64Var(&opts.sourceDateEpoch, "source-date-epoch", 0, "Unix time every file and the images' creation time carry (the commit's time, for reproducible builds)")
	flag.StringVar(&opts.source, "source", "https://github.com/tailscale-gateway/tailscale-gateway", "org.opencontainers.image.source label")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	flag.Parse()
	opts.platforms = strings.Split(*platforms, ",")

	start := time.Now()
	results, err := build(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
	for _, r := range results {
		fmt.Printf("%s\t%s\t%s\n", r.component.name, r.index, r.tarball)
	}
	fmt.Printf("built %d images in %s\n", len(results), time.Since(start).Round(100*time.Millisecond))
}
