package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageMeta is what every image of one build says about itself.
type imageMeta struct {
	version, commit, source string
	created                 time.Time
}

// labels are the OCI annotations (as config labels and index annotations)
// that registries and scanners read. No licenses label: the repository
// declares no license yet.
func (m imageMeta) labels(c component) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       c.name,
		"org.opencontainers.image.description": c.description,
		"org.opencontainers.image.source":      m.source,
		"org.opencontainers.image.revision":    m.commit,
		"org.opencontainers.image.version":     m.version,
		"org.opencontainers.image.created":     m.created.UTC().Format(time.RFC3339),
	}
}

// platformImage is c's image for one platform: one layer holding rootFS.
func platformImage(c component, p v1.Platform, binary []byte, m imageMeta) (v1.Image, error) {
	entries, err := rootFS(c, binary)
	if err != nil {
		return nil, err
	}
	raw, err := layerTar(entries, m.created)
	if err != nil {
		return nil, err
	}
	gz, err := gzipped(raw)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: m.created},
			CreatedBy: "hack/tools/imagebuild: " + binDir + "/" + c.binary + ", CA roots, nonroot user",
		},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Created = v1.Time{Time: m.created}
	cfg.Config = v1.Config{
		User:       nonrootUser,
		Entrypoint: []string{binDir + "/" + c.binary},
		Env:        []string{"PATH=" + binDir, "SSL_CERT_FILE=/" + caBundlePath},
		WorkingDir: "/",
		Labels:     m.labels(c),
	}
	return mutate.ConfigFile(img, cfg)
}

// gzipped compresses once, up front: a layer made from an uncompressed
// opener would compress again every time its digest or bytes are read.
// compress/gzip writes no time or name in its header, and its output is
// fixed for a given Go version.
func gzipped(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// componentIndex builds c for every platform and puts the images in one
// index, in the order of platforms.
func componentIndex(opts options, c component, m imageMeta, workDir string) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, ps := range opts.platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			return nil, fmt.Errorf("--platforms: %w", err)
		}
		dir := filepath.Join(workDir, c.name, strings.ReplaceAll(ps, "/", "-"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		path, err := goBuild(opts.repo, c, p.OS, p.Architecture, m.version, m.commit, dir)
		if err != nil {
			return nil, err
		}
		binary, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		img, err := platformImage(c, *p, binary, m)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.name, ps, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, m.labels(c)).(v1.ImageIndex), nil
}
