package cluster

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// sampleURL is the samples' VIP service as a tailnet client names it.
func sampleURL() string { return "http://web." + env.Lab.Domain() + "/" }

// vipClient sends every request on a new connection from the lab client
// node, into the tailnet only.
func vipClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: dialer.Dial, DisableKeepAlives: true},
	}
}

// answer is a backend's reply: "hello from GROUP POD PATH".
type answer struct{ group, pod string }

func get(ctx context.Context, c *http.Client, url string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	res, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, err
	}
	return parseAnswer(res.StatusCode, string(body))
}

func parseAnswer(status int, body string) (answer, error) {
	f := strings.Fields(body)
	if status != http.StatusOK || len(f) != 5 || f[0] != "hello" {
		return answer{}, fmt.Errorf("not a backend's answer: %d %q", status, body)
	}
	return answer{group: f[2], pod: f[3]}, nil
}

// tally counts answers by group and pod, and failures.
type tally struct {
	mu       sync.Mutex
	groups   map[string]int
	pods     map[string]int
	failures []string
}

func newTally() *tally { return &tally{groups: map[string]int{}, pods: map[string]int{}} }

func (t *tally) add(a answer, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failures = append(t.failures, time.Now().Format("15:04:05.000")+" "+err.Error())
		return
	}
	t.groups[a.group]++
	t.pods[a.pod]++
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.failures)
	for _, c := range t.groups {
		n += c
	}
	return n
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("groups %v, %d pods, %d failures %v", t.groups, len(t.pods), len(t.failures), t.failures)
}

// load sends requests from workers until the returned function is
// called; that function waits for the workers' last requests, so the
// tally is complete once it returns.
func load(ctx context.Context, url string, workers int) (*tally, func()) {
	t := newTally()
	c := vipClient()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				t.add(get(ctx, c, url))
			}
		})
	}
	return t, func() { close(stop); wg.Wait() }
}

// send sends n requests from workers and waits for them.
func send(ctx context.Context, url string, n, workers int) *tally {
	t := newTally()
	c := vipClient()
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range next {
				t.add(get(ctx, c, url))
			}
		})
	}
	wg.Wait()
	return t
}

// A lab client reaches the samples' backend pods through the VIP service
// hosted by the pools' proxy pods, each pool forwarding to its backends'
// ClusterIP Service, with the samples' weights (web-east 70, web-west 30).
func testWeightedTrafficThroughTheVIPService(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	waitServing(t, ctx)
	const n = 400
	got := send(ctx, sampleURL(), n, 4)
	t.Logf("%d connections: %s", n, got)
	if len(got.failures) > 0 {
		t.Fatalf("%d of %d requests failed: %v", len(got.failures), n, got.failures)
	}
	if share := float64(got.groups["web-east"]) / n; math.Abs(share-0.70) > 0.05 {
		t.Errorf("web-east got %.1f%% of %d connections, want 70%% ± 5", 100*share, n)
	}
	if len(got.pods) != 4 {
		t.Errorf("answers came from %d backend pods, want all 4: %v", len(got.pods), got.pods)
	}
}

// A pod in the cluster reaches the same VIP service through its in-cluster
// Service, web-vip, by its DNS name (CoreDNS, kube-proxy).
func testInClusterClientThroughTheVIPService(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	waitServing(t, ctx)
	waitInClusterReady(t, ctx, "web", 4)
	const n = 20
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "in-cluster-client-", Namespace: "default"},
		Spec: corev1.PodSpec{
			RestartPolicy:   corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532))},
			Containers: []corev1.Container{{
				Name: "client", Image: "tsgw.local/backend:1", ImagePullPolicy: corev1.PullIfNotPresent,
				Args: []string{"--get=http://web-vip.default.svc.cluster.local/", fmt.Sprintf("--count=%d", n)},
			}},
		},
	}
	pod, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Pods("default").Delete(context.Background(), pod.Name, metav1.DeleteOptions{}) })
	waitUntil(t, ctx, "the client pod to finish", func() error {
		p, err := kube.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
	logs, err := kube.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for line := range strings.Lines(string(logs)) {
		ok, body, _ := strings.Cut(strings.TrimSpace(line), " ")
		if ok != "ok" {
			t.Errorf("in-cluster request failed: %s", line)
			continue
		}
		a, err := parseAnswer(http.StatusOK, body)
		if err != nil {
			t.Error(err)
			continue
		}
		groups[a.group]++
	}
	t.Logf("in-cluster client through web-vip: %v", groups)
	if groups["web-east"]+groups["web-west"] != n || groups["web-east"] == 0 || groups["web-west"] == 0 {
		t.Errorf("want %d answers from both groups, got %v", n, groups)
	}
}

// waitInClusterReady waits until the in-cluster Service of a
// TailscaleServices lists pods ready endpoints (each is ready only once its
// proxy serves the port) and kube-proxy forwards to them: a request from
// this node to the Service's cluster IP is answered. Until then kube-proxy
// refuses connections to a Service without ready endpoints.
func waitInClusterReady(t *testing.T, ctx context.Context, name string, pods int) {
	t.Helper()
	svc, err := kube.CoreV1().Services("default").Get(ctx, name+"-vip", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	direct := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	waitUntil(t, ctx, "the in-cluster Service "+svc.Name+" ready", func() error {
		list, err := kube.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name,
		})
		if err != nil {
			return err
		}
		ready := 0
		for _, sl := range list.Items {
			for _, e := range sl.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		if ready < pods {
			return fmt.Errorf("%d of %d endpoints ready", ready, pods)
		}
		_, err = get(ctx, direct, "http://"+svc.Spec.ClusterIP+"/")
		return err
	})
}
