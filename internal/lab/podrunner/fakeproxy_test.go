package podrunner_test

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The test binary doubles as the binary the runner runs: with this
// variable in its environment (set by the pod template) it acts as a tiny
// proxy instead of running the tests.
const fakeProxyEnv = "PODRUNNER_FAKE_PROXY"

func TestMain(m *testing.M) {
	if os.Getenv(fakeProxyEnv) == "1" {
		os.Exit(fakeProxy())
	}
	if os.Getenv(spawnAndDieEnv) == "1" {
		os.Exit(spawnAndDie())
	}
	os.Exit(m.Run())
}

// identity is what the fake proxy reports at /identity: who the API
// server thinks it is, what it may read, and the environment it got.
type identity struct {
	User            string            `json:"user"`
	Groups          []string          `json:"groups"`
	SecretStatus    int               `json:"secretStatus"`    // GET of a Secret it must not read
	ConfigMapStatus int               `json:"configMapStatus"` // GET of a ConfigMap it may read
	Env             map[string]string `json:"env"`
	Args            []string          `json:"args"`
}

// fakeProxy serves /readyz and /identity on --admin-address and exits on
// SIGTERM (unless FAKE_IGNORE_SIGTERM=1, to test the grace period).
func fakeProxy() int {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.Bool("pod", false, "")
	kubeconfig := fs.String("kubeconfig", "", "")
	admin := fs.String("admin-address", "", "")
	fs.String("metrics-address", "", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	ln, err := net.Listen("tcp", *admin)
	if err != nil {
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/identity", func(w http.ResponseWriter, r *http.Request) {
		id, err := whoAmI(r.Context(), *kubeconfig)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		id.Args = os.Args[1:]
		json.NewEncoder(w).Encode(id)
	})
	go http.Serve(ln, mux)
	for range sigs {
		if os.Getenv("FAKE_IGNORE_SIGTERM") != "1" {
			return 0
		}
	}
	return 0
}

func whoAmI(ctx context.Context, kubeconfig string) (identity, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return identity{}, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return identity{}, err
	}
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return identity{}, err
	}
	ns := os.Getenv("POD_NAMESPACE")
	_, secretErr := kube.CoreV1().Secrets(ns).Get(ctx, "forbidden", metav1.GetOptions{})
	_, cmErr := kube.CoreV1().ConfigMaps(ns).Get(ctx, "allowed", metav1.GetOptions{})
	return identity{
		User:            review.Status.UserInfo.Username,
		Groups:          review.Status.UserInfo.Groups,
		SecretStatus:    statusCode(secretErr),
		ConfigMapStatus: statusCode(cmErr),
		Env: map[string]string{
			"POD_NAME": os.Getenv("POD_NAME"), "POD_NAMESPACE": ns, "TSGW_POOL": os.Getenv("TSGW_POOL"),
			"KUBECONFIG": os.Getenv("KUBECONFIG"),
		},
	}, nil
}

func statusCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := err.(apierrors.APIStatus); ok {
		return int(s.Status().Code)
	}
	return -1
}
