package pool

import (
	"regexp"
	"strings"
	"testing"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func TestMachineHostname(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct {
		name               string
		operator, ns, pool string
		ordinal            int
		wantPrefix         string
	}{
		{"readable", "operator-1", "default", "web", 0, "web-0-default-"},
		{"dots become dashes", "operator-1", "team-a", "web.east", 2, "web-east-2-team-a-"},
		{"long names are cut", "operator-1", long, long, 12, strings.Repeat("a", 26) + "-12-" + strings.Repeat("a", 26) + "-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MachineHostname(tc.operator, tc.ns, tc.pool, tc.ordinal)
			if !strings.HasPrefix(got, tc.wantPrefix) || len(got) != len(tc.wantPrefix)+hostnameHashLen {
				t.Errorf("MachineHostname = %q, want %q followed by %d hex digits", got, tc.wantPrefix, hostnameHashLen)
			}
			if !dnsLabel.MatchString(got) {
				t.Errorf("%q is not a DNS label", got)
			}
			if again := MachineHostname(tc.operator, tc.ns, tc.pool, tc.ordinal); again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
		})
	}
}

// The same pool and namespace under another operator, or the same pool
// in another namespace, is another machine.
func TestMachineHostnamesDoNotCollide(t *testing.T) {
	names := map[string]string{}
	for _, op := range []string{"operator-a", "operator-b"} {
		for _, ns := range []string{"default", "team-a", "team"} {
			for _, p := range []string{"web", "a-web", "web2"} {
				h := MachineHostname(op, ns, p, 0)
				if prev, dup := names[h]; dup {
					t.Fatalf("%s/%s/%s and %s share hostname %s", op, ns, p, prev, h)
				}
				names[h] = op + "/" + ns + "/" + p
			}
		}
	}
	// "team" + "a-web" and "team-a" + "web" read alike; the hash tells them apart.
	if MachineHostname("o", "team-a", "web", 0) == MachineHostname("o", "team", "a-web", 0) {
		t.Error("readable parts alone decided the name")
	}
}
