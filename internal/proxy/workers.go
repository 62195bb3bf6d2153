package proxy

import "sync/atomic"

// workers runs the goroutines of connections (serve, and pipe's second
// direction) on goroutines kept from earlier connections.
//
// Why: a new goroutine starts with a small stack, and the dial path needs a
// larger one, so every connection used to pay for growing (copying) its
// stacks; profiles of connection-per-request load put that at several
// percent of the proxy's CPU. A kept goroutine keeps its grown stack (until
// the garbage collector shrinks an idle one) and starts a job by a channel
// hand-off, which costs about what starting a goroutine does.
var workers = workerPool{jobs: make(chan func())}

// maxIdleWorkers bounds the goroutines kept idle; a worker that would be
// one more exits.
const maxIdleWorkers = 1024

type workerPool struct {
	jobs    chan func() // unbuffered: a send succeeds only into an idle worker
	idle    atomic.Int32
	started atomic.Int64 // goroutines started, to tell reuse from start-up
}

// run runs f on an idle worker, or on a new goroutine if none is idle.
func (w *workerPool) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		w.started.Add(1)
		go w.work(f)
	}
}

func (w *workerPool) work(f func()) {
	for {
		f()
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		f = <-w.jobs
		w.idle.Add(-1)
	}
}
