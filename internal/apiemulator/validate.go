package apiemulator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tagName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
)

func validateVIPService(pathName string, svc VIPService) error {
	if err := validateServiceName(pathName); err != nil {
		return err
	}
	if svc.Name != "" && svc.Name != pathName {
		return fmt.Errorf("service name %q in body does not match %q in path", svc.Name, pathName)
	}
	for _, p := range svc.Ports {
		if err := validatePort(p); err != nil {
			return err
		}
	}
	if err := validateTags(svc.Tags); err != nil {
		return err
	}
	for k := range svc.Annotations {
		if k == "" {
			return fmt.Errorf("annotation keys must not be empty")
		}
	}
	return nil
}

func validateServiceName(name string) error {
	label, ok := strings.CutPrefix(name, "svc:")
	if !ok || !dnsLabel.MatchString(label) {
		return fmt.Errorf("invalid service name %q: must be \"svc:\" followed by a DNS label", name)
	}
	return nil
}

// validatePort accepts "tcp:443", "udp:53", "tcp:8000-8010" and the API's
// "do-not-validate" escape hatch.
func validatePort(p string) error {
	if p == "do-not-validate" {
		return nil
	}
	proto, ports, ok := strings.Cut(p, ":")
	if !ok || (proto != "tcp" && proto != "udp") {
		return fmt.Errorf("invalid port %q: must be tcp:<port> or udp:<port>", p)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
		return fmt.Errorf("invalid port %q: port must be 1-65535", p)
	}
	return nil
}

func validateTags(tags []string) error {
	for _, t := range tags {
		name, ok := strings.CutPrefix(t, "tag:")
		if !ok || !tagName.MatchString(name) {
			return fmt.Errorf("invalid tag %q: must be \"tag:\" followed by letters, digits or dashes", t)
		}
	}
	return nil
}
