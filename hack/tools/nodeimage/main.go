// Command nodeimage wraps one static binary into a single-layer image and
// writes it as a docker-archive tarball that `ctr -n k8s.io images import`
// reads, without a container runtime or registry. `make cluster-up` uses it
// for the node's pause image and CoreDNS image (hack/cluster/up.sh):
//
//	go -C hack/tools run ./nodeimage --binary /path/coredns --path /coredns \
//	    --tag tsgw.local/coredns:v1.14.7 --out coredns.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	binary := flag.String("binary", "", "static binary to put in the image")
	inImage := flag.String("path", "", "its path in the image, the entrypoint")
	tag := flag.String("tag", "", "image reference the tarball carries")
	out := flag.String("out", "", "docker-archive tarball to write")
	user := flag.String("user", "", "image's user (default: root)")
	flag.Parse()
	if err := run(*binary, *inImage, *tag, *out, *user); err != nil {
		fmt.Fprintln(os.Stderr, "nodeimage:", err)
		os.Exit(1)
	}
}

func run(binary, inImage, tag, out, user string) error {
	if binary == "" || inImage == "" || tag == "" || out == "" {
		return fmt.Errorf("--binary, --path, --tag and --out are required")
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	// Parent directories first, then the binary; /tmp for programs that want one.
	dirs := []string{"tmp/"}
	for d := path.Dir(strings.TrimPrefix(inImage, "/")); d != "." && d != "/"; d = path.Dir(d) {
		dirs = append([]string{d + "/"}, dirs...)
	}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(inImage, "/"), Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromReader(bytes.NewReader(layerBytes))
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config = v1.Config{Entrypoint: []string{inImage}, User: user, WorkingDir: "/"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}
