package devenv

import (
	"fmt"
	"net"
	"net/http"
)

// Backend is a loopback HTTP server standing in for a pool's application.
type Backend struct {
	Name string // the pool it serves, e.g. web-east
	Addr string // host:port, as the pool's backend.addresses names it
}

// helloHandler answers "hello from NAME PATH", so a client sees which
// pool served it.
func helloHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s %s\n", name, r.URL.Path)
	})
}

// startBackends listens on the exact addresses: the samples name them, so
// a taken port is an error rather than a silent move.
func (e *Env) startBackends(backends []Backend) error {
	for _, b := range backends {
		ln, err := net.Listen("tcp", b.Addr)
		if err != nil {
			return fmt.Errorf("backend %s: %w (is another make dev running?)", b.Name, err)
		}
		e.serve(ln, helloHandler(b.Name))
	}
	return nil
}
