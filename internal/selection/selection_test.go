package selection_test

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailscale-gateway/tailscale-gateway/internal/selection"
)

func TestAnchorsFindEverySelectorThatMatches(t *testing.T) {
	selectors := map[string]*metav1.LabelSelector{
		"all":       {},
		"web":       {MatchLabels: map[string]string{"service-type": "web", "environment": "production"}},
		"regions":   {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "region", Operator: metav1.LabelSelectorOpIn, Values: []string{"east", "west"}}}},
		"mixed":     {MatchLabels: map[string]string{"service-type": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "region", Operator: metav1.LabelSelectorOpIn, Values: []string{"east", "west", "central"}}}},
		"exists":    {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "auto-provisioned", Operator: metav1.LabelSelectorOpExists}}},
		"notin":     {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"deprecated"}}}},
		"malformed": {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Equals"}}},
	}
	pools := []map[string]string{
		{},
		{"service-type": "web", "environment": "production", "region": "east"},
		{"service-type": "web", "region": "central"},
		{"region": "west", "tier": "deprecated"},
		{"auto-provisioned": "true", "tier": "gold"},
	}
	for _, pool := range pools {
		keys := selection.LookupKeys(pool)
		for name, sel := range selectors {
			indexed := false
			for _, a := range selection.Anchors(sel) {
				indexed = indexed || slices.Contains(keys, a)
			}
			if selection.Matches(sel, pool) && !indexed {
				t.Errorf("selector %s matches %v but is not found through the index", name, pool)
			}
		}
	}
}

func TestAnchors(t *testing.T) {
	cases := []struct {
		name string
		sel  *metav1.LabelSelector
		want []string
	}{
		{"empty selects all", &metav1.LabelSelector{}, []string{"*"}},
		{"first of equal-size equality requirements", &metav1.LabelSelector{MatchLabels: map[string]string{"b": "2", "a": "1"}}, []string{"a=1"}},
		{"equality beats a wider In", &metav1.LabelSelector{
			MatchLabels:      map[string]string{"z": "1"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: metav1.LabelSelectorOpIn, Values: []string{"x", "y"}}},
		}, []string{"z=1"}},
		{"In values", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "r", Operator: metav1.LabelSelectorOpIn, Values: []string{"w", "e"}}}}, []string{"r=e", "r=w"}},
		{"only Exists", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "r", Operator: metav1.LabelSelectorOpExists}}}, []string{"*"}},
		{"malformed selects nothing", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "r", Operator: "Bad"}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := selection.Anchors(tc.sel); !slices.Equal(got, tc.want) {
				t.Errorf("Anchors = %v, want %v", got, tc.want)
			}
		})
	}
}
