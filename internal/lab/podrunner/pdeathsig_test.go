package podrunner_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/podrunner"
)

// spawnAndDieEnv makes the test binary start a long-lived child the way
// the runner does, print its pid, and exit at once as if it crashed.
const spawnAndDieEnv = "PODRUNNER_SPAWN_AND_DIE"

func spawnAndDie() int {
	cmd := exec.Command("sleep", "300")
	if err := podrunner.SpawnForTest(cmd); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(cmd.Process.Pid)
	return 3 // no cleanup: only the kernel can stop the child now
}

// TestChildrenDieWithTheRunner: a runner that crashes leaves no process.
func TestChildrenDieWithTheRunner(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), spawnAndDieEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err == nil {
		t.Fatal("the helper exited cleanly; it should have exited 3")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("helper output %q", out.String())
	}
	waitFor(t, fmt.Sprintf("child %d to die with its parent", pid), func() error {
		if running(pid) {
			return fmt.Errorf("pid %d still runs", pid)
		}
		return nil
	})
}

// running says whether pid is a live process; a zombie (killed, not yet
// reaped by whoever adopted it) is not.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
