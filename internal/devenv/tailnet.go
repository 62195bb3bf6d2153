package devenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// The objects that connect the operator to the lab tailnet.
const (
	OperatorNamespace = "tailscale-gateway"
	TailnetName       = "lab"
	OAuthSecretName   = "lab-oauth"
)

// oauthClient is the one OAuth client the emulator accepts.
type oauthClient struct{ id, secret string }

// newOAuthClient makes fresh credentials for every run, so nothing in the
// dev environment can come to depend on a fixed secret.
func newOAuthClient() oauthClient {
	return oauthClient{id: "lab-" + randomHex(6), secret: "tskey-client-lab-" + randomHex(16)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func (e *Env) startLab(ctx context.Context, opts Options) error {
	if opts.Join != nil {
		e.Lab = opts.Join.Lab
		e.ready["control"], e.ready["socks5"], e.ready["tailnet-domain"] = e.Lab.ControlURL(), e.Lab.SOCKS5Addr(), e.Lab.Domain()
		return nil
	}
	controlAddr, err := preferredAddr(opts.ControlAddr)
	if err != nil {
		return err
	}
	socksAddr, err := preferredAddr(opts.SOCKS5Addr)
	if err != nil {
		return err
	}
	l, err := lab.Start(ctx, lab.Options{ControlAddr: controlAddr, SOCKS5Addr: socksAddr, RelayIP: opts.RelayIP, Logf: opts.Logf})
	if err != nil {
		return err
	}
	e.Lab = l
	e.stop = append(e.stop, l.Close)
	e.ready["control"], e.ready["socks5"], e.ready["tailnet-domain"] = l.ControlURL(), l.SOCKS5Addr(), l.Domain()
	return nil
}

// startEmulator serves the Tailscale API emulator, bound to the lab so
// that the VIP services it stores really route and its auth keys admit
// nodes.
func (e *Env) startEmulator(opts Options) error {
	if j := opts.Join; j != nil {
		e.oauth, e.Emulator, e.APIURL = j.oauth, j.Emulator, j.APIURL
		e.ready["tailscale-api"] = e.APIURL
		return nil
	}
	e.oauth = newOAuthClient()
	e.Emulator = apiemulator.New(apiemulator.Options{
		ClientID: e.oauth.id, ClientSecret: e.oauth.secret, TailnetDomain: e.Lab.Domain(), Tailnet: e.Lab,
	})
	e.Lab.UseEmulator(e.Emulator)
	ln, err := listenPreferred(opts.APIAddr)
	if err != nil {
		return err
	}
	e.APIURL = "http://" + ln.Addr().String()
	e.serve(ln, e.Emulator)
	e.ready["tailscale-api"] = e.APIURL
	return nil
}

// serve serves h on ln until Stop.
func (e *Env) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h}
	go srv.Serve(ln) // returns ErrServerClosed on Stop
	e.stop = append(e.stop, srv.Close)
}

// createTailnet creates what makes the lab a TailscaleTailnet: the OAuth
// Secret in the operator's namespace and the TailscaleTailnet itself. In a
// cluster that outlives one run (Options.Kubeconfig), they may exist from
// an earlier lab: they are brought up to this one's addresses and
// credentials, or the operator would keep calling the old lab.
func (e *Env) createTailnet(ctx context.Context) error {
	for _, obj := range tailnetObjects(e.APIURL, e.Lab.ControlURL(), e.oauth) {
		err := e.Client.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			err = e.replace(ctx, obj)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// replace updates an existing object to obj's content (a Namespace is left
// as it is).
func (e *Env) replace(ctx context.Context, obj client.Object) error {
	if _, ok := obj.(*corev1.Namespace); ok {
		return nil
	}
	current := obj.DeepCopyObject().(client.Object)
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
		return err
	}
	obj.SetResourceVersion(current.GetResourceVersion())
	return e.Client.Update(ctx, obj)
}

func tailnetObjects(apiURL, controlURL string, oauth oauthClient) []client.Object {
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: OAuthSecretName, Namespace: OperatorNamespace},
			StringData: map[string]string{tailnet.ClientIDKey: oauth.id, tailnet.ClientSecretKey: oauth.secret},
		},
		&gatewayv1alpha1.TailscaleTailnet{
			ObjectMeta: metav1.ObjectMeta{Name: TailnetName},
			Spec: gatewayv1alpha1.TailscaleTailnetSpec{
				APIBaseURL:            apiURL,
				CoordinationServerURL: controlURL,
				OAuthSecretRef:        gatewayv1alpha1.SecretReference{Name: OAuthSecretName, Namespace: OperatorNamespace},
				// The lab is one team's: every namespace, any tag, any name.
				Access: &gatewayv1alpha1.TailnetAccess{},
			},
		},
	}
}
