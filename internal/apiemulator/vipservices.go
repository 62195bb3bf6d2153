package apiemulator

import (
	"fmt"
	"net/http"
	"slices"
)

type vipServiceList struct {
	VIPServices []VIPService `json:"vipServices"`
}

func (s *Server) listVIPServices(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, vipServiceList{VIPServices: s.VIPServices()})
}

func (s *Server) getVIPService(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	svc, ok := s.services[name]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("service %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, cloneService(svc))
}

func (s *Server) putVIPService(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var svc VIPService
	if err := decodeJSON(r, &svc); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if err := validateVIPService(name, svc); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	svc.Name = name
	stored, err := s.storeVIPService(svc)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, stored)
}

// storeVIPService creates or replaces svc, keeping the addresses a live
// service already has and assigning them to a new one.
func (s *Server) storeVIPService(svc VIPService) (VIPService, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	addrs, err := s.addrsForLocked(svc)
	if err != nil {
		return VIPService{}, err
	}
	svc.Addrs = addrs
	svc = cloneService(svc)
	s.addrsByName[svc.Name] = slices.Clone(addrs)
	s.services[svc.Name] = svc
	s.notifyLocked()
	return cloneService(svc), nil
}

func (s *Server) addrsForLocked(svc VIPService) ([]string, error) {
	live, exists := s.services[svc.Name]
	switch {
	case exists && len(svc.Addrs) > 0 && !sameSet(live.Addrs, svc.Addrs):
		return nil, fmt.Errorf("addrs of %s cannot be changed (have %v)", svc.Name, live.Addrs)
	case exists:
		return live.Addrs, nil
	case len(svc.Addrs) > 0:
		return svc.Addrs, s.checkRequestedAddrsLocked(svc.Name, svc.Addrs)
	default:
		return s.allocateAddrsLocked(svc.Name), nil
	}
}

func (s *Server) deleteVIPService(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	_, ok := s.services[name]
	delete(s.services, name)
	if ok {
		s.notifyLocked()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("service %q not found", name))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
