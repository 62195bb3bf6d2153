// Package operator_test is the fault-injection suite's operator half: the
// operator runs as its own process (so it can be killed with SIGKILL, as a
// node failure or an OOM kill would) against a real kube-apiserver and one
// Tailscale API emulator per tailnet, whose faults the tests switch on and
// off. Every case checks its pass criterion against the emulators'
// inventories and the API server, never against the operator's own word.
//
// Run with `make test-faults` (it sets KUBEBUILDER_ASSETS).
package operator_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// operatorBinary is the operator built once for the whole suite.
var operatorBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		// kubetest.Start skips (or, under CI, fails) each test with the reason.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tsgw-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	operatorBinary = filepath.Join(dir, "operator")
	build := exec.Command("go", "build", "-o", operatorBinary, "./cmd/operator")
	build.Dir = repoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the operator: %v\n", err)
		return 1
	}
	return m.Run()
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
