package devenv_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// oauthCredentials reads the OAuth client the dev environment gave the
// operator.
func oauthCredentials(t *testing.T, ctx context.Context, env *devenv.Env) (id, secret string) {
	t.Helper()
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: devenv.OperatorNamespace, Name: devenv.OAuthSecretName}
	if err := env.Client.Get(ctx, key, s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data[tailnet.ClientIDKey]), string(s.Data[tailnet.ClientSecretKey])
}
