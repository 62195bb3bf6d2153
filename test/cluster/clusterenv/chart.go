package clusterenv

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Release is the chart's release name in every cluster environment.
const Release = "tsgw"

// helmConfig is a Helm configuration for the cluster of kubeconfig, its
// releases kept as Secrets in namespace.
func helmConfig(kubeconfig, namespace string) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	flags.Namespace = &namespace
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadChart(dir string) (*chartv2.Chart, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	ch, ok := c.(*chartv2.Chart)
	if !ok {
		return nil, fmt.Errorf("chart %s: not a v2 chart", dir)
	}
	return ch, nil
}

// installChart installs (or, when the release exists, upgrades) the chart
// and waits until its Deployment's pods are ready: the kubelet runs them.
func installChart(ctx context.Context, cfg *action.Configuration, chartDir, namespace string, values map[string]any) error {
	ch, err := loadChart(chartDir)
	if err != nil {
		return err
	}
	if _, err := action.NewHistory(cfg).Run(Release); err == nil {
		return upgradeChart(ctx, cfg, ch, namespace, values)
	}
	install := action.NewInstall(cfg)
	install.ReleaseName = Release
	install.Namespace = namespace
	install.CreateNamespace = true
	install.WaitStrategy = kube.StatusWatcherStrategy
	install.Timeout = 3 * time.Minute
	if _, err := install.RunWithContext(ctx, ch, values); err != nil {
		return fmt.Errorf("helm install: %w", err)
	}
	return nil
}

func upgradeChart(ctx context.Context, cfg *action.Configuration, ch *chartv2.Chart, namespace string, values map[string]any) error {
	up := action.NewUpgrade(cfg)
	up.Namespace = namespace
	up.WaitStrategy = kube.StatusWatcherStrategy
	up.Timeout = 3 * time.Minute
	if _, err := up.RunWithContext(ctx, Release, ch, values); err != nil {
		return fmt.Errorf("helm upgrade: %w", err)
	}
	return nil
}

// uninstallChart removes the release and waits for its objects to go.
func uninstallChart(cfg *action.Configuration) error {
	un := action.NewUninstall(cfg)
	un.WaitStrategy = kube.StatusWatcherStrategy
	un.Timeout = 2 * time.Minute
	un.IgnoreNotFound = true
	_, err := un.Run(Release)
	return err
}
