package apiemulator

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	apiPrefix   = "/api/v2/"
	tokenPath   = "/api/v2/oauth/token"
	adminPrefix = "/emulator/"
)

// Server emulates the Tailscale API v2 endpoints the operator uses.
// It is safe for concurrent use.
type Server struct {
	opts  Options
	now   func() time.Time
	api   *http.ServeMux
	admin *http.ServeMux

	mu          sync.Mutex
	tokens      map[string]time.Time // access token → expiry
	services    map[string]VIPService
	addrsByName map[string][]string // kept after delete so a name keeps its addrs
	keys        map[string]*authKey // by key ID
	devices     map[string]Device   // registered with AddDevice, by NodeID
	policy      policyState
	faults      []FaultRule
	rng         *rand.Rand
	requests    []RequestRecord
	nextID      uint64
	subscribers map[int]chan struct{}
	nextSub     int
	changes     <-chan struct{}
}

// New returns an emulator with no VIP services, no keys and a default
// (allow-all) policy unless opts.Policy is set.
func New(opts Options) *Server {
	s := &Server{
		opts:        opts,
		now:         opts.Clock,
		tokens:      map[string]time.Time{},
		services:    map[string]VIPService{},
		addrsByName: map[string][]string{},
		keys:        map[string]*authKey{},
		devices:     map[string]Device{},
		rng:         rand.New(rand.NewPCG(opts.Seed, 0x7a11)),
		subscribers: map[int]chan struct{}{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.policy = newPolicyState(opts.Policy)
	s.changes, _ = s.Subscribe()
	s.api = s.apiRoutes()
	s.admin = s.adminRoutes()
	return s
}

// ServeHTTP serves the API under /api/v2/ and the emulator's own admin API
// (faults, request log) under /emulator/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.admin.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	faulted := s.applyFault(rec, r)
	if !faulted {
		s.api.ServeHTTP(rec, r)
	}
	s.record(r, rec.status, faulted)
}

func (s *Server) apiRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenPath, s.handleToken)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/vip-services", s.listVIPServices)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/vip-services/{name}", s.getVIPService)
	s.handleAuthed(mux, "PUT /api/v2/tailnet/{tailnet}/vip-services/{name}", s.putVIPService)
	s.handleAuthed(mux, "DELETE /api/v2/tailnet/{tailnet}/vip-services/{name}", s.deleteVIPService)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/keys", s.listKeys)
	s.handleAuthed(mux, "POST /api/v2/tailnet/{tailnet}/keys", s.createKey)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/keys/{id}", s.getKey)
	s.handleAuthed(mux, "DELETE /api/v2/tailnet/{tailnet}/keys/{id}", s.deleteKey)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/devices", s.listDevices)
	s.handleAuthedGlobal(mux, "GET /api/v2/device/{id}", s.getDevice)
	s.handleAuthedGlobal(mux, "DELETE /api/v2/device/{id}", s.deleteDevice)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/acl", s.getPolicy)
	s.handleAuthed(mux, "POST /api/v2/tailnet/{tailnet}/acl", s.setPolicy)
	s.handleAuthed(mux, "GET /api/v2/tailnet/{tailnet}/dns/preferences", s.getDNSPreferences)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return mux
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
