package podrunner

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Options configure a Runner.
type Options struct {
	// Config reaches the API server with administrator credentials. The
	// runner uses them itself; its processes get the same credentials but
	// impersonate their pod's ServiceAccount.
	Config *rest.Config
	// Binary runs in place of every pod's container image.
	Binary string
	// ExtraArgs follow the container's arguments of every process (the lab
	// passes tsgw-proxy's --lab: no network namespaces, no log upload).
	ExtraArgs []string
	// StateDir holds, per pod, its kubeconfig, scratch directory and output log.
	StateDir string
	// Namespace limits the runner to one namespace; empty means all.
	Namespace string
	// Selector is a label selector of the StatefulSets to run; empty means all.
	Selector string
	// Stderr, if set, also receives every output line, prefixed "[ns/pod] ".
	Stderr io.Writer
	// GracePeriod is how long a process has to exit after SIGTERM before
	// SIGKILL; 10s if zero.
	GracePeriod time.Duration
	// RestartBackoff is the delay before the first restart of a crashed
	// process, doubled on every crash up to MaxRestartBackoff; 500ms and
	// 30s if zero.
	RestartBackoff, MaxRestartBackoff time.Duration
	// ProbeInterval is how often /readyz is asked; 1s if zero.
	ProbeInterval time.Duration
	// NodeName is the node the pods claim to run on; "tsgw-lab" if empty.
	NodeName string
	// Logf receives the runner's own messages; discarded if nil.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() (Options, error) {
	if o.Config == nil || o.Binary == "" || o.StateDir == "" {
		return o, errors.New("podrunner: Config, Binary and StateDir are required")
	}
	// Processes run in their own directories and get paths under StateDir
	// (their kubeconfigs): relative paths would not resolve there.
	var err error
	if o.StateDir, err = filepath.Abs(o.StateDir); err != nil {
		return o, err
	}
	if strings.ContainsRune(o.Binary, filepath.Separator) {
		if o.Binary, err = filepath.Abs(o.Binary); err != nil {
			return o, err
		}
	}
	setDefault(&o.GracePeriod, 10*time.Second)
	setDefault(&o.RestartBackoff, 500*time.Millisecond)
	setDefault(&o.MaxRestartBackoff, 30*time.Second)
	setDefault(&o.ProbeInterval, time.Second)
	if o.NodeName == "" {
		o.NodeName = "tsgw-lab"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}
