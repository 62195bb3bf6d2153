package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goBuild builds c's static binary for goos/goarch into dir and returns
// its path. Everything that could make two builds of one commit differ is
// pinned: no cgo, -trimpath (no local paths), an empty build ID, no VCS
// stamp (the commit comes in through -X instead), and the microarchitecture
// levels, so a GOAMD64 in the caller's environment does not leak in.
func goBuild(repo string, c component, goos, goarch, version, commit, dir string) (string, error) {
	out := filepath.Join(dir, c.binary)
	ldflags := strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", c.versionPkg + ".Version=" + version,
		"-X", c.versionPkg + ".Commit=" + commit,
	}, " ")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, c.pkg)
	cmd.Dir = filepath.Join(repo, c.module)
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch,
		"GOAMD64=v1", "GOARM64=v8.0",
		"GOFLAGS=", // a -race or -cover from the caller's GOFLAGS would change the binary
		"GOWORK=off",
	)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s for %s/%s: %w", c.name, goos, goarch, err)
	}
	return out, nil
}
