package v1alpha1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
