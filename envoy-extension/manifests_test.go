package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestManifestsMatchTheFlags renders config/ alone and with the tls and
// mtls components, as README.md says to, and checks the Deployment against
// this command: its args parse, the probes ask the --health-listen port,
// and every TLS file is in the mounted Secret (as a directory, so that
// renewals reach the server).
func TestManifestsMatchTheFlags(t *testing.T) {
	kubectl := kubectlOrSkip(t)
	for _, tt := range []struct {
		name       string
		components []string
		want       tlsFlags
	}{
		{"plain text", nil, tlsFlags{}},
		{"tls", []string{"tls"}, tlsFlags{cert: "/etc/tsgw-envoy-extension/tls/tls.crt", key: "/etc/tsgw-envoy-extension/tls/tls.key"}},
		{"mutual tls", []string{"tls", "mtls"}, tlsFlags{
			cert: "/etc/tsgw-envoy-extension/tls/tls.crt", key: "/etc/tsgw-envoy-extension/tls/tls.key", clientCA: "/etc/tsgw-envoy-extension/tls/ca.crt",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dep := renderDeployment(t, kubectl, tt.components)
			pod := dep.Spec.Template.Spec
			c := pod.Containers[0]
			opts, err := parseFlags("envoy-extension", c.Args)
			if err != nil {
				t.Fatalf("the args %q do not parse: %v", c.Args, err)
			}
			if opts.tls != tt.want {
				t.Errorf("TLS flags %+v, want %+v", opts.tls, tt.want)
			}
			_, healthPort, err := net.SplitHostPort(opts.healthListen)
			if err != nil {
				t.Fatalf("--health-listen=%q: %v", opts.healthListen, err)
			}
			for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if probe == nil || probe.GRPC == nil || strconv.Itoa(int(probe.GRPC.Port)) != healthPort {
					t.Errorf("the %s probe must be gRPC on the --health-listen port %s (the kubelet's gRPC probe cannot use TLS): %+v", name, healthPort, probe)
				}
			}
			for _, file := range []string{opts.tls.cert, opts.tls.key, opts.tls.clientCA} {
				if file != "" && !inSecretMount(pod, c, file) {
					t.Errorf("%s is not in a Secret volume mounted as a directory", file)
				}
			}
		})
	}
}

func inSecretMount(pod corev1.PodSpec, c corev1.Container, file string) bool {
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || filepath.Dir(file) != m.MountPath {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return true
			}
		}
	}
	return false
}

// renderDeployment renders config/ with the components (directories under
// config/) through a kustomization of the test's own, as a user would.
func renderDeployment(t *testing.T, kubectl string, components []string) *appsv1.Deployment {
	t.Helper()
	dir := t.TempDir()
	config, err := filepath.Abs("config")
	if err != nil {
		t.Fatal(err)
	}
	// kustomize takes only relative paths.
	rel := func(path string) string {
		r, err := filepath.Rel(dir, path)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	k := "resources: [" + rel(config) + "]\ncomponents: ["
	for i, c := range components {
		if i > 0 {
			k += ", "
		}
		k += rel(filepath.Join(config, c))
	}
	k += "]\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize with %v: %v", components, err)
	}
	docs := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var dep appsv1.Deployment
		err := docs.Decode(&dep)
		if errors.Is(err, io.EOF) {
			t.Fatal("no Deployment rendered")
		}
		if err != nil {
			t.Fatal(err)
		}
		if dep.Kind == "Deployment" && dep.Name == "tsgw-envoy-extension" {
			return &dep
		}
	}
}

func kubectlOrSkip(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, which builds kube-apiserver, etcd and kubectl and sets it")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set (the directory of kube-apiserver, etcd and kubectl); `make test` sets it")
	}
	return filepath.Join(assets, "kubectl")
}

func TestParseFlagsChecksTheTLSFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"--tls-cert-file=a", "--tls-key-file=b", "--tls-client-ca-file=c"}, ""},
		{[]string{"--tls-cert-file=a", "--tls-key-file=b"}, ""},
		{[]string{"--tls-cert-file=a"}, "--tls-cert-file and --tls-key-file go together"},
		{[]string{"--tls-key-file=b"}, "--tls-cert-file and --tls-key-file go together"},
		{[]string{"--tls-client-ca-file=c"}, "--tls-client-ca-file needs TLS"},
		{[]string{"--listen=:5005", "extra"}, "unexpected arguments"},
	} {
		_, err := parseFlags("envoy-extension", tt.args)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("parseFlags(%q) = %v, want no error", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("parseFlags(%q) = %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
}
