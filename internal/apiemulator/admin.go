package apiemulator

import "net/http"

// adminRoutes is the emulator's own API, for the standalone binary and
// scripts; it is not part of Tailscale's API and has no authentication, so
// serve the emulator on loopback only.
//
//	GET    /emulator/faults    the faults in force
//	POST   /emulator/faults    {"pattern": "...", "fault": {...}} switches one on
//	DELETE /emulator/faults    switches all off
//	GET    /emulator/requests  the request log
//	DELETE /emulator/requests  empties it
//	POST   /emulator/devices   registers a Device (AddDevice)
func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /emulator/faults", s.postFault)
	mux.HandleFunc("DELETE /emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /emulator/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("DELETE /emulator/requests", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /emulator/devices", s.postDevice)
	return mux
}

// adminFault is a fault as the admin API takes it.
type adminFault struct {
	Pattern string `json:"pattern"`
	Fault   Fault  `json:"fault"`
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var req adminFault
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if err := s.SetFault(req.Pattern, req.Fault); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postDevice(w http.ResponseWriter, r *http.Request) {
	var d Device
	if err := decodeJSON(r, &d); err != nil || d.NodeID == "" {
		writeError(w, http.StatusBadRequest, "body must be a device with a nodeId")
		return
	}
	s.AddDevice(d)
	w.WriteHeader(http.StatusNoContent)
}
