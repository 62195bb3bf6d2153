package podrunner

import "os/exec"

// SpawnForTest starts cmd the way the runner starts its processes.
func SpawnForTest(cmd *exec.Cmd) error { return newSpawner().start(cmd) }
