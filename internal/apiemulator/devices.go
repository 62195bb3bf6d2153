package apiemulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

type deviceList struct {
	Devices []Device `json:"devices"`
}

// allDevices merges the lab tailnet's devices with those added by tests,
// the latter winning on the same NodeID; sorted by name.
func (s *Server) allDevices() []Device {
	byNode := map[string]Device{}
	if s.opts.Tailnet != nil {
		for _, d := range s.opts.Tailnet.Devices() {
			byNode[d.NodeID] = cloneDevice(d)
		}
	}
	s.mu.Lock()
	for id, d := range s.devices {
		byNode[id] = cloneDevice(d)
	}
	s.mu.Unlock()
	out := make([]Device, 0, len(byNode))
	for _, d := range byNode {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s *Server) findDevice(id string) (Device, bool) {
	for _, d := range s.allDevices() {
		if d.ID == id || d.NodeID == id {
			return d, true
		}
	}
	return Device{}, false
}

// withFields drops what the API only shows with ?fields=all.
func withFields(d Device, r *http.Request) Device {
	if r.URL.Query().Get("fields") != "all" {
		d.AdvertisedRoutes, d.EnabledRoutes = nil, nil
	}
	return d
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	devices := s.allDevices()
	for i := range devices {
		devices[i] = withFields(devices[i], r)
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: devices})
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	d, ok := s.findDevice(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "device not found")
		return
	}
	writeJSON(w, http.StatusOK, withFields(d, r))
}

// deleteDevice removes a test-added device, or asks the lab tailnet to
// remove the node (by NodeID).
func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	d, ok := s.findDevice(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "device not found")
		return
	}
	if s.removeAddedDevice(d.NodeID) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := s.opts.Tailnet.DeleteDevice(d.NodeID); err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("deleting device: %v", err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) removeAddedDevice(nodeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.devices[nodeID]
	delete(s.devices, nodeID)
	return ok
}

type dnsPreferences struct {
	MagicDNS bool `json:"magicDNS"`
}

// getDNSPreferences answers GET .../dns/preferences; MagicDNS is always on
// in the emulated tailnet.
func (s *Server) getDNSPreferences(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, dnsPreferences{MagicDNS: true})
}
