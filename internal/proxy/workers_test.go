package proxy

import (
	"sync"
	"testing"
)

func TestWorkersRunEveryJobAndKeepIdleOnes(t *testing.T) {
	w := workerPool{jobs: make(chan func())}
	const jobs = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := map[int]bool{}
	release := make(chan struct{})
	wg.Add(jobs)
	for i := range jobs {
		w.run(func() {
			defer wg.Done()
			<-release // all jobs in flight at once: each needs its own goroutine
			mu.Lock()
			ran[i] = true
			mu.Unlock()
		})
	}
	close(release)
	wg.Wait()
	if len(ran) != jobs {
		t.Fatalf("%d of %d jobs ran", len(ran), jobs)
	}
	// The workers go idle after their job; a new job is handed to one of
	// them instead of a new goroutine.
	if n := w.started.Load(); n != jobs {
		t.Fatalf("started %d goroutines for %d concurrent jobs", n, jobs)
	}
	waitFor(t, "every worker idle", func() bool { return w.idle.Load() == jobs })
	for range 10 {
		done := make(chan struct{})
		w.run(func() { close(done) })
		<-done
	}
	if n := w.started.Load(); n != jobs {
		t.Errorf("started %d goroutines, want the %d idle ones reused", n, jobs)
	}
}
