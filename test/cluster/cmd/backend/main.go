// Command backend is the application of `make test-cluster` and `make
// dev-cluster`: an HTTP server that answers "hello from GROUP POD PATH",
// so a client sees which backend group and pod served it. With --get it is
// instead an in-cluster client: it fetches a URL a number of times and
// prints one line per answer (or error), then exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	get := flag.String("get", "", "fetch this URL instead of serving")
	count := flag.Int("count", 10, "how many times --get fetches")
	flag.Parse()
	if *get != "" {
		os.Exit(fetch(*get, *count))
	}
	if err := serve(*listen, os.Getenv("BACKEND_GROUP"), os.Getenv("POD_NAME")); err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}

func serve(addr, group, pod string) error {
	srv := &http.Server{
		Addr: addr,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s %s %s\n", group, pod, r.URL.Path)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fetch prints "ok <body>" or "error <err>" per request; it fails if any
// did. Every request has a connection of its own: the proxies balance
// connections, not requests.
func fetch(url string, count int) int {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	failed := 0
	for range count {
		body, err := get(c, url)
		if err != nil {
			failed++
			fmt.Println("error", err)
			continue
		}
		fmt.Println("ok", strings.TrimSpace(body))
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}
