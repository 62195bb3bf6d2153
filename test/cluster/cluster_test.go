package cluster

import "testing"

// TestCluster runs the checks in an order that builds on itself: the
// operator and the pools first, then traffic, then disruptions of the
// samples, then a namespace deleted whole. Run one with -run
// 'TestCluster/<name>'.
func TestCluster(t *testing.T) {
	needEnv(t)
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"operator", testOperatorRunsUnderItsOwnServiceAccount},
		{"pools", testPoolPodsRunRestrictedAndJoin},
		{"weighted", testWeightedTrafficThroughTheVIPService},
		{"in-cluster", testInClusterClientThroughTheVIPService},
		{"pod-deleted", testProxyPodDeletedUnderLoad},
		{"rolling-update", testProxyImageRollingUpdate},
		{"namespace-deleted", testNamespaceDeletedLeavesNothing},
	} {
		t.Run(c.name, c.test)
	}
}
