package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestManifestsNameThisVersion: the kustomize manifests deploy the images
// `make images` tags, so they name every image with the VERSION file's tag.
// Bumping VERSION means updating them; this test says where.
func TestManifestsNameThisVersion(t *testing.T) {
	repo := testOptions.repo
	raw, err := os.ReadFile(filepath.Join(repo, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(raw))
	ref := regexp.MustCompile(`ghcr\.io/tailscale-gateway/([a-z-]+):([^\s"']+)`)
	seen := map[string]bool{}
	for _, path := range []string{"config/manager/manager.yaml", "envoy-extension/config/deployment.yaml"} {
		data, err := os.ReadFile(filepath.Join(repo, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
			seen[m[1]] = true
			if m[2] != version {
				t.Errorf("%s names %s; VERSION is %s: use the tag %s", path, m[0], version, version)
			}
		}
	}
	for _, c := range components {
		if !seen[c.name] {
			t.Errorf("no manifest names the image ghcr.io/tailscale-gateway/%s that make images builds", c.name)
		}
	}
}
