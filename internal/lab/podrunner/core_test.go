package podrunner

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		running     []int
		replicas    int
		start, stop []int
	}{
		{nil, 0, nil, nil},
		{nil, 2, []int{0, 1}, nil},
		{[]int{0, 1}, 3, []int{2}, nil},
		{[]int{2, 0, 1}, 1, nil, []int{2, 1}},
		{[]int{1}, 2, []int{0}, nil}, // a lost ordinal comes back
	} {
		start, stop := scale(tc.running, tc.replicas)
		if !slices.Equal(start, tc.start) || !slices.Equal(stop, tc.stop) {
			t.Errorf("scale(%v, %d) = %v, %v; want %v, %v", tc.running, tc.replicas, start, stop, tc.start, tc.stop)
		}
	}
}

func poolSTS(env ...corev1.EnvVar) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-east", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"pool": "web-east"}},
			Spec: corev1.PodSpec{
				ServiceAccountName: "web-east-proxy",
				Containers:         []corev1.Container{{Name: "proxy", Args: []string{"--pod"}, Env: env}},
			},
		}},
	}
}

func field(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

func TestPodLaunchResolvesTheDownwardAPI(t *testing.T) {
	sts := poolSTS(
		field("POD_NAME", "metadata.name"),
		field("POD_NAMESPACE", "metadata.namespace"),
		field("SA", "spec.serviceAccountName"),
		field("IP", "status.podIP"),
		field("INDEX", "metadata.labels['apps.kubernetes.io/pod-index']"),
		corev1.EnvVar{Name: "TSGW_POOL", Value: "web-east"},
	)
	l, err := podLaunch(sts, 1, "node")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"POD_NAME=web-east-1", "POD_NAMESPACE=default", "SA=web-east-proxy", "IP=" + podIP("default", "web-east-1"), "INDEX=1", "TSGW_POOL=web-east"}
	if !slices.Equal(l.Env, want) || !slices.Equal(l.Args, []string{"--pod"}) {
		t.Errorf("launch %+v, want env %v and args [--pod]", l, want)
	}
}

func TestPodLaunchRefusesWhatItCannotResolve(t *testing.T) {
	secret := corev1.EnvVar{Name: "KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}
	for _, v := range []corev1.EnvVar{secret, field("UID", "metadata.uid")} {
		if _, err := podLaunch(poolSTS(v), 0, "node"); err == nil || !strings.Contains(err.Error(), v.Name) {
			t.Errorf("%s: error %v, want one naming the variable", v.Name, err)
		}
	}
}

func TestKubeconfigImpersonatesTheServiceAccount(t *testing.T) {
	admin := &rest.Config{Host: "https://127.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key")}}
	b, err := impersonatingKubeconfig(admin, serviceAccountUser("default", "web-east-proxy"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Impersonate.UserName != "system:serviceaccount:default:web-east-proxy" {
		t.Errorf("impersonates %q", cfg.Impersonate.UserName)
	}
	if cfg.Host != admin.Host || string(cfg.CertData) != "cert" || string(cfg.KeyData) != "key" || string(cfg.CAData) != "ca" {
		t.Errorf("config %+v lost the admin's server or credentials", cfg)
	}
}

func TestPodIPsAreTheHostsAndTheirOwn(t *testing.T) {
	for _, routable := range []bool{true, false} {
		seen := map[string]string{}
		for i := range 200 {
			pod := fmt.Sprintf("web-%d", i)
			ip := net.ParseIP(podIPIn(routable, "default", pod))
			_, lab, _ := net.ParseCIDR(podRange)
			if ip == nil || ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.IsLoopback() == routable || lab.Contains(ip) != routable {
				t.Fatalf("%s (routable %t): address %v", pod, routable, ip)
			}
			if other, ok := seen[ip.String()]; ok {
				t.Errorf("%s and %s share %s", pod, other, ip)
			}
			seen[ip.String()] = pod
		}
		if podIPIn(routable, "default", "web-0") == podIPIn(routable, "other", "web-0") {
			t.Error("a pod's address must depend on its namespace too")
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(podIP("default", "web-0"), "0"))
	if err != nil {
		t.Fatalf("a process cannot bind its pod address: %v", err)
	}
	ln.Close()
}

func TestPodStatusWhileWaitingToRestart(t *testing.T) {
	pod := podObject(poolSTS(), 0, "node")
	s := podStatus(pod, podState{Running: false, Restarts: 3})
	cs := s.ContainerStatuses[0]
	if cs.Ready || cs.RestartCount != 3 || cs.State.Waiting == nil || s.Conditions[3].Status != corev1.ConditionFalse {
		t.Errorf("status %+v", s)
	}
	if pod.Labels[appsv1.StatefulSetPodNameLabel] != "web-east-0" || pod.Spec.NodeName != "node" {
		t.Errorf("pod %+v", pod.ObjectMeta)
	}
}

func TestLinePrefixerWritesWholeLines(t *testing.T) {
	var out bytes.Buffer
	p := &linePrefixer{mu: &sync.Mutex{}, w: &out, prefix: "[a] "}
	p.Write([]byte("one\ntw"))
	p.Write([]byte("o\nthr"))
	if got := out.String(); got != "[a] one\n[a] two\n" {
		t.Errorf("got %q", got)
	}
}

// The processes run in their own directories: the paths they are handed
// must not be relative to the runner's.
func TestOptionsMakePathsAbsolute(t *testing.T) {
	o, err := Options{Config: &rest.Config{}, Binary: "bin/proxy", StateDir: ".dev/pods"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(o.StateDir) || !filepath.IsAbs(o.Binary) {
		t.Errorf("StateDir %q, Binary %q: want absolute paths", o.StateDir, o.Binary)
	}
	if o, _ := (Options{Config: &rest.Config{}, Binary: "proxy", StateDir: "/x"}).withDefaults(); o.Binary != "proxy" {
		t.Errorf("a bare command name was changed to %q; it is looked up in PATH", o.Binary)
	}
}
