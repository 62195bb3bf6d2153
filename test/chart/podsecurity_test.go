package chart

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// The operator's pod template passes the "restricted" Pod Security level
// with the defaults and with every option set (the install test also has
// the API server's own admission refuse a pod that does not).
func TestPodTemplateIsRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			for _, o := range objects(t, mustRender(t, valuesFile(t, c.values)).Manifest) {
				if o.GetKind() != "Deployment" {
					continue
				}
				var dep appsv1.Deployment
				fromUnstructured(t, o.Object, &dep)
				res := policy.AggregateCheckResults(evaluator.EvaluatePod(
					api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()},
					&dep.Spec.Template.ObjectMeta, &dep.Spec.Template.Spec))
				if !res.Allowed {
					t.Errorf("Deployment %s violates the restricted level: %s", dep.Name, strings.Join(res.ForbiddenReasons, "; "))
				}
			}
		})
	}
}
