// Command backend is the benchmark's upstream: a minimal HTTP server that
// answers every request with a short body on each of the given ports.
//
//	backend -ports 18081,18082,18083
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
)

func main() {
	ports := flag.String("ports", "18081", "comma-separated ports to serve on (127.0.0.1)")
	flag.Parse()
	body := []byte("ok\n")
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	errs := make(chan error)
	for _, p := range strings.Split(*ports, ",") {
		go func() { errs <- http.ListenAndServe("127.0.0.1:"+p, handler) }()
	}
	log.Fatal(<-errs)
}
