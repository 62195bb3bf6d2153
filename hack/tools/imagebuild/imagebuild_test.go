package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The build under test: fixed so that every check knows what to expect.
var testOptions = options{
	repo:            "../../..",
	version:         "0.0.0-imagetest",
	commit:          "0123456789abcdef0123456789abcdef01234567",
	source:          "https://example.com/tailscale-gateway",
	sourceDateEpoch: 1700000000,
	platforms:       testPlatforms(),
}

// testPlatforms are both release platforms, or those IMAGEBUILD_TEST_PLATFORMS
// lists: `make test` builds linux/amd64 only, because cross-compiling the
// operator and the proxy for arm64 costs a cold machine many minutes more
// and proves nothing the amd64 build does not (`make images` builds both).
func testPlatforms() []string {
	if p := os.Getenv("IMAGEBUILD_TEST_PLATFORMS"); p != "" {
		return strings.Split(p, ",")
	}
	return []string{"linux/amd64", "linux/arm64"}
}

// TestImages builds every image twice (the second build is mostly the Go
// build cache's), then checks the first build's images: their digests
// equal the second's, their configuration and files, and that their
// binaries run from the image's root filesystem as the nonroot user.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds six static binaries and their images; skipped in -short")
	}
	first := buildInto(t, t.TempDir())

	t.Run("reproducible", func(t *testing.T) {
		second := buildInto(t, t.TempDir())
		for i := range first {
			a, b := first[i], second[i]
			if a.index != b.index || !slices.Equal(a.platforms, b.platforms) {
				t.Errorf("%s: two builds of one commit differ: index %s %v, then %s %v",
					a.component.name, a.index, a.platforms, b.index, b.platforms)
			}
			if !sameFile(t, a.tarball, b.tarball) {
				t.Errorf("%s: the layout tarballs of two builds differ", a.component.name)
			}
		}
		if !sameFile(t, filepath.Join(filepath.Dir(first[0].tarball), "digests.txt"),
			filepath.Join(filepath.Dir(second[0].tarball), "digests.txt")) {
			t.Errorf("digests.txt differs between two builds")
		}
	})

	for _, r := range first {
		t.Run(r.component.name, func(t *testing.T) {
			images := readLayout(t, r)
			if got := platformsOf(images); !slices.Equal(got, testOptions.platforms) {
				t.Fatalf("index holds %v, want %v", got, testOptions.platforms)
			}
			for _, img := range images {
				checkImage(t, r.component, img)
			}
			i := slices.IndexFunc(images, func(img layoutImage) bool { return img.platform.Architecture == runtime.GOARCH })
			if i < 0 {
				t.Skipf("no %s image to run on this machine", runtime.GOARCH)
			}
			checkRuns(t, r.component, images[i])
		})
	}
}

func buildInto(t *testing.T, out string) []result {
	t.Helper()
	opts := testOptions
	opts.out = out
	start := time.Now()
	results, err := build(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d images into %s in %s", len(results), out, time.Since(start).Round(100*time.Millisecond))
	if len(results) != len(components) {
		t.Fatalf("built %d components, want %d", len(results), len(components))
	}
	return results
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}
