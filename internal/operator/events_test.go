package operator

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBoundNote(t *testing.T) {
	for name, note := range map[string]string{
		"short":                "deleted 2 device(s)",
		"exactly the limit":    strings.Repeat("a", maxNote),
		"long":                 strings.Repeat("a", 1<<20),
		"multibyte at the cut": strings.Repeat("é", maxNote),
	} {
		got := boundNote(note)
		if len(got) > maxNote || !utf8.ValidString(got) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(got), utf8.ValidString(got))
		}
		if len(note) <= maxNote && got != note {
			t.Errorf("%s: a note within the limit was changed", name)
		}
	}
}
