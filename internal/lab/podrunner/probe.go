package podrunner

import (
	"context"
	"net/http"
	"time"
)

// probe asks the process's /readyz until ctx ends, as a kubelet's
// readiness probe would: ready while it answers 200.
func (rep *replica) probe(ctx context.Context) {
	client := &http.Client{Timeout: rep.opts.ProbeInterval}
	url := "http://" + rep.AdminAddr + "/readyz"
	tick := time.NewTicker(rep.opts.ProbeInterval)
	defer tick.Stop()
	for {
		ready := readyz(ctx, client, url)
		if ctx.Err() != nil {
			return
		}
		rep.update(func(s *podState) { s.setReady(ready) })
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func readyz(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
