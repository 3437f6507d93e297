package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/plugin"
)

// oauthkit is a plugin registered only in these tests, installed by OAuth
// from fakeProvider: the gateway's install machinery and the identity SDK
// driven through a plugin, as a platform plugin (Slack) uses them.
type oauthkit struct {
	account  string
	botToken string
}

type oauthkitConfig struct {
	Account     string `json:"account"`
	AccountName string `json:"account_name"`
	BotToken    string `json:"bot_token"`
	Installer   string `json:"installer"`
}

func init() {
	plugin.Register(plugin.Info{
		Name:        "oauthkit",
		Description: "Test plugin installed by OAuth",
		AuthType:    plugin.AuthOAuth,
		OAuth:       oauthkitInstaller{},
		Config: plugin.Schema(`{"type":"object","properties":{
			"account":{"type":"string"},"account_name":{"type":"string"},
			"bot_token":{"type":"string","writeOnly":true},"installer":{"type":"string"}},
			"required":["account","bot_token"]}`),
		PlatformIDKey: "account",
		New:           func() plugin.Instance { return &oauthkit{} },
		Actions: []plugin.Action{
			{Name: "bot-token", Run: plugin.Bind((*oauthkit).token),
				Output: plugin.Schema(`{"type":"object","properties":{"bot_token":{"type":"string"},"account":{"type":"string"}}}`)},
			{Name: "link", Run: plugin.Bind((*oauthkit).link),
				Input:  plugin.Schema(`{"type":"object","properties":{"user":{"type":"string"},"quality":{"type":"string"},"type":{"type":"string"}},"required":["user"]}`),
				Output: plugin.Schema(`{"type":"object"}`)},
		},
	})
}

func (k *oauthkit) Provision(_ context.Context, env plugin.Env) error {
	var c oauthkitConfig
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	k.account, k.botToken = c.Account, c.BotToken
	return nil
}

func (k *oauthkit) token(_ context.Context, _ *plugin.Call, _ struct{}) (map[string]string, error) {
	return map[string]string{"bot_token": k.botToken, "account": k.account}, nil
}

type linkInput struct {
	User    string `json:"user"`
	Quality string `json:"quality"`
	Type    string `json:"type"`
}

func (k *oauthkit) link(ctx context.Context, c *plugin.Call, in linkInput) (map[string]any, error) {
	err := c.Identity().Link(ctx, plugin.Account{PlatformIdentifier: in.User, LinkType: in.Type, LinkQuality: in.Quality,
		CustomData: map[string]any{"seen_by": "link-action", "quality": in.Quality}})
	if err != nil {
		return nil, &plugin.InputError{Message: err.Error()}
	}
	return map[string]any{}, nil
}

// oauthkitInstaller talks to the fake provider named by the OAUTHKIT_URL
// setting, the way an OAuth 2 platform plugin does.
type oauthkitInstaller struct{}

func (oauthkitInstaller) AuthorizeURL(_ context.Context, req *plugin.AuthorizeRequest) (string, error) {
	base := req.Setting("OAUTHKIT_URL")
	if base == "" {
		return "", fmt.Errorf("OAUTHKIT_URL is not set")
	}
	q := url.Values{"client_id": {req.Setting("OAUTHKIT_CLIENT_ID")}, "state": {req.State}, "redirect_uri": {req.RedirectURI},
		"scope": {"bot"}}
	if req.Type == plugin.InstallUser {
		q.Set("scope", "identity")
	}
	return base + "/authorize?" + q.Encode(), nil
}

type tokenAnswer struct {
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	AccessToken string `json:"access_token"`
	Account     string `json:"account"`
	AccountName string `json:"account_name"`
	UserID      string `json:"user_id"`
	UserToken   string `json:"user_token"`
}

func (oauthkitInstaller) Install(ctx context.Context, req *plugin.InstallRequest) (*plugin.Installation, error) {
	form := url.Values{"client_id": {req.Setting("OAUTHKIT_CLIENT_ID")}, "client_secret": {req.Setting("OAUTHKIT_CLIENT_SECRET")},
		"code": {req.Code}, "redirect_uri": {req.RedirectURI}}
	hr, err := http.NewRequestWithContext(ctx, "POST", req.Setting("OAUTHKIT_URL")+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := req.HTTPClient.Do(hr)
	if err != nil {
		return nil, &plugin.PlatformError{Platform: "oauthkit", Message: "token exchange failed", Err: err}
	}
	defer resp.Body.Close()
	var a tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("decoding the token answer: %w", err)
	}
	if !a.OK {
		return nil, &plugin.InstallError{Code: "oauthkit_" + a.Error, Description: "the provider refused: " + a.Error}
	}
	installer := plugin.Account{PlatformIdentifier: a.UserID, ExternalID: req.MetagovID,
		LinkType: plugin.LinkTypeOAuth, LinkQuality: plugin.LinkQualityConfirmedStrong}
	if req.Type == plugin.InstallUser {
		return &plugin.Installation{PlatformID: a.Account, Accounts: []plugin.Account{installer},
			Redirect: url.Values{"user_id": {a.UserID}, "account": {a.Account}}, UserToken: a.UserToken}, nil
	}
	config, _ := json.Marshal(oauthkitConfig{Account: a.Account, AccountName: a.AccountName, BotToken: a.AccessToken, Installer: a.UserID})
	return &plugin.Installation{Config: config, Accounts: []plugin.Account{installer},
		Redirect: url.Values{"user_id": {a.UserID}, "state": {"plugins cannot override this"}}, UserToken: a.UserToken}, nil
}

// fakeProvider is an OAuth 2 authorization server as the spec (RFC 6749
// §4.1) describes it: /authorize redirects the user back with a one-time
// code (or an error), /token exchanges the code once, for the same
// redirect_uri, with the client's credentials.
type fakeProvider struct {
	srv *httptest.Server
	mu  sync.Mutex
	// The user who consents at /authorize, and the account they install.
	user, account string
	// deny makes /authorize answer error=access_denied.
	deny bool
	// tokenError makes /token answer ok:false with this error.
	tokenError string
	codes      map[string]grant
	exchanges  int
}

type grant struct{ user, account, redirectURI string }

const (
	fakeClientID     = "client-1"
	fakeClientSecret = "secret-1"
)

func newFakeProvider(t *testing.T) *fakeProvider {
	f := &fakeProvider{user: "U1", account: "acme", codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) set(user, account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user, f.account = user, account
}

// settings are the gateway settings pointing oauthkit at this provider.
func (f *fakeProvider) settings(name string) string {
	return map[string]string{"OAUTHKIT_URL": f.srv.URL, "OAUTHKIT_CLIENT_ID": fakeClientID,
		"OAUTHKIT_CLIENT_SECRET": fakeClientSecret}[name]
}

func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != fakeClientID || q.Get("redirect_uri") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	answer := url.Values{"state": {q.Get("state")}}
	if f.deny {
		answer.Set("error", "access_denied")
		answer.Set("error_description", "The user said no")
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		code := hex.EncodeToString(b[:])
		f.codes[code] = grant{user: f.user, account: f.account, redirectURI: q.Get("redirect_uri")}
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchanges++
	answer := func(a tokenAnswer) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	}
	if r.PostFormValue("client_id") != fakeClientID || r.PostFormValue("client_secret") != fakeClientSecret {
		answer(tokenAnswer{Error: "invalid_client"})
		return
	}
	g, ok := f.codes[r.PostFormValue("code")]
	delete(f.codes, r.PostFormValue("code"))
	switch {
	case !ok:
		answer(tokenAnswer{Error: "invalid_code"})
	case g.redirectURI != r.PostFormValue("redirect_uri"):
		answer(tokenAnswer{Error: "bad_redirect_uri"})
	case f.tokenError != "":
		answer(tokenAnswer{Error: f.tokenError})
	default:
		answer(tokenAnswer{OK: true, AccessToken: fmt.Sprintf("bot-%s-%d", g.account, f.exchanges), Account: g.account,
			AccountName: strings.ToUpper(g.account), UserID: g.user, UserToken: "utok-" + g.user})
	}
}
