package v1alpha1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// conditionReason is the pattern the API server enforces on
// metav1.Condition's reason.
var conditionReason = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// TestConditionReasons checks every Reason constant of conditions.go: a
// reason the API server accepts, named after its value, and not a second
// name for another constant's value.
func TestConditionReasons(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "conditions.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	byValue := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || !strings.HasPrefix(vs.Names[0].Name, "Reason") {
			return true
		}
		name := vs.Names[0].Name
		value, err := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		if err != nil {
			t.Fatal(err)
		}
		if !conditionReason.MatchString(value) {
			t.Errorf("%s = %q is not a valid condition reason", name, value)
		}
		if name != "Reason"+value {
			t.Errorf("%s = %q: name it Reason%s", name, value, value)
		}
		if other, dup := byValue[value]; dup {
			t.Errorf("%s and %s are both %q", name, other, value)
		}
		byValue[value] = name
		return true
	})
	if len(byValue) < 10 {
		t.Fatalf("found %d reasons in conditions.go; is the parsing right?", len(byValue))
	}
}

func TestBoundedMessage(t *testing.T) {
	for name, msg := range map[string]string{
		"short":                "ok",
		"exactly the limit":    strings.Repeat("a", MaxMessage),
		"an API error of 1MiB": strings.Repeat("x", 1<<20),
		"multibyte at the cut": strings.Repeat("é", MaxMessage),
	} {
		got := BoundedMessage(msg)
		if len(got) > MaxMessage || !utf8.ValidString(got) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(got), utf8.ValidString(got))
		}
		if len(msg) <= MaxMessage && got != msg {
			t.Errorf("%s: a message within the limit was changed", name)
		}
		if len(msg) > MaxMessage && !strings.Contains(got, "cut from") {
			t.Errorf("%s: the cut is not said", name)
		}
	}
}
