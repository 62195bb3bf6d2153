package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// options are imagebuild's flags.
type options struct {
	repo, out       string
	version, commit string
	source          string
	sourceDateEpoch int64
	platforms       []string
}

// result is one component's output.
type result struct {
	component component
	index     v1.Hash
	// platforms are the per-platform manifest digests, in index order.
	platforms []platformDigest
	layoutDir string
	tarball   string
}

type platformDigest struct {
	platform string
	digest   v1.Hash
}

// build writes, for each component, <out>/<name>/ (an OCI image layout whose
// index.json names one image index, tagged with the version) and
// <out>/<name>.tar (that layout as a tarball), then <out>/digests.txt.
func build(opts options) ([]result, error) {
	if opts.version == "" {
		v, err := os.ReadFile(filepath.Join(opts.repo, "VERSION"))
		if err != nil {
			return nil, err
		}
		opts.version = strings.TrimSpace(string(v))
	}
	m := imageMeta{version: opts.version, commit: opts.commit, source: opts.source,
		created: time.Unix(opts.sourceDateEpoch, 0).UTC()}
	if err := os.MkdirAll(opts.out, 0o755); err != nil {
		return nil, err
	}
	workDir, err := os.MkdirTemp(opts.out, ".work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(workDir)

	var results []result
	for _, c := range components {
		idx, err := componentIndex(opts, c, m, workDir)
		if err != nil {
			return nil, err
		}
		r, err := writeComponent(opts.out, c, idx, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		results = append(results, r)
	}
	return results, writeDigests(filepath.Join(opts.out, "digests.txt"), results)
}

// writeComponent replaces c's layout directory and tarball under out.
func writeComponent(out string, c component, idx v1.ImageIndex, m imageMeta) (result, error) {
	r := result{component: c, layoutDir: filepath.Join(out, c.name), tarball: filepath.Join(out, c.name+".tar")}
	if err := os.RemoveAll(r.layoutDir); err != nil {
		return r, err
	}
	p, err := layout.Write(r.layoutDir, empty.Index)
	if err != nil {
		return r, err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": m.version,
	})); err != nil {
		return r, err
	}
	if r.index, err = idx.Digest(); err != nil {
		return r, err
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return r, err
	}
	for _, d := range manifest.Manifests {
		r.platforms = append(r.platforms, platformDigest{platform: d.Platform.String(), digest: d.Digest})
	}
	return r, tarDir(r.layoutDir, r.tarball, m.created)
}

// writeDigests writes one line per index and per platform image:
//
//	operator	index	sha256:…
//	operator	linux/amd64	sha256:…
func writeDigests(path string, results []result) error {
	var b strings.Builder
	b.WriteString("# component\tplatform\tdigest\n")
	for _, r := range results {
		fmt.Fprintf(&b, "%s\tindex\t%s\n", r.component.name, r.index)
		for _, p := range r.platforms {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", r.component.name, p.platform, p.digest)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
