package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// OAuth installs (GET /auth/<plugin>/authorize and /auth/<plugin>/callback).
// The state handed to the platform is signed with a key derived from the
// secret key (HMAC-SHA256) and expires; it is the only session, so any
// gateway process sharing the database completes a flow another began. A
// callback records the state's nonce in the database before it exchanges
// the code, so a replayed callback is refused everywhere.

// DefaultOAuthStateTTL is how long a driver's user has to complete an
// install at the platform.
const DefaultOAuthStateTTL = 10 * time.Minute

// userTokenTTL is how long the driver has to fetch an installer's token.
const userTokenTTL = 10 * time.Minute

// maxDriverState bounds the driver's opaque state and its redirect_uri,
// which travel to the platform and back inside ours.
const maxDriverState = 2048

// oauthState is what the signed state carries. Short keys keep the URL
// short.
type oauthState struct {
	Plugin      string `json:"p"`
	Type        string `json:"t"`
	Community   string `json:"c,omitempty"`
	New         bool   `json:"n,omitempty"` // create Community at the callback
	RedirectURI string `json:"r"`
	DriverState string `json:"s,omitempty"`
	MetagovID   int64  `json:"m,omitempty"`
	CallbackURL string `json:"u"`
	Expires     int64  `json:"x"` // Unix seconds
	Nonce       string `json:"k"`
}

const stateMACPrefix = "metagov-oauth-state.v1."

func (g *Gateway) signState(s oauthState) (string, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encoding OAuth state: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(stateMAC(g.stateKeys[0], body)), nil
}

func stateMAC(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stateMACPrefix + body))
	return m.Sum(nil)
}

// openState checks a state's signature (with any current key) and decodes
// it. Expiry is the caller's to check: an expired genuine state still names
// a redirect_uri it may send the error to.
func (g *Gateway) openState(token string) (oauthState, bool) {
	var s oauthState
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return s, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return s, false
	}
	genuine := false
	for _, k := range g.stateKeys {
		if hmac.Equal(mac, stateMAC(k, body)) {
			genuine = true
		}
	}
	if !genuine {
		return s, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(payload, &s) != nil || s.Nonce == "" {
		return s, false
	}
	return s, true
}

// AuthorizeInput is the query of GET /auth/<plugin>/authorize.
type AuthorizeInput struct {
	Type        string
	Community   string
	RedirectURI string
	State       string
	MetagovID   string
	// CallbackURL is the gateway's /auth/<plugin>/callback as the platform
	// must call it.
	CallbackURL string
}

func badParam(code Code, param, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Field: param, Detail: fmt.Sprintf(format, args...)}
}

// installerOf returns the plugin's installer.
func (g *Gateway) installerOf(name string) (*pluginType, plugin.Installer, error) {
	typ, ok := g.types[name]
	if !ok {
		return nil, nil, newError(KindInvalid, "unknown_plugin", "No such plugin: %s", name)
	}
	if typ.info.OAuth == nil {
		return nil, nil, newError(KindNotFound, "oauth_not_supported", "plugin %s is not installed by OAuth", name)
	}
	return typ, typ.info.OAuth, nil
}

// redirectAllowed reports whether uri starts with one of the allowed
// prefixes. A prefix that ends without a slash must end the URI's origin
// or path segment there, so https://driver.example does not admit
// https://driver.example.evil.test.
func (g *Gateway) redirectAllowed(uri string) bool {
	for _, p := range g.cfg.OAuthRedirectAllow {
		if p == "" || !strings.HasPrefix(uri, p) {
			continue
		}
		if strings.HasSuffix(p, "/") || len(uri) == len(p) || strings.ContainsRune("/?#", rune(uri[len(p)])) {
			return true
		}
	}
	return false
}

func (g *Gateway) checkRedirectURI(uri string) error {
	if uri == "" {
		return badParam("missing_parameter", "redirect_uri", "redirect_uri is required: where to send the user back")
	}
	if len(uri) > maxDriverState {
		return badParam("invalid_redirect_uri", "redirect_uri", "redirect_uri must be at most %d bytes", maxDriverState)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return badParam("invalid_redirect_uri", "redirect_uri", "redirect_uri must be an absolute http or https URL without credentials")
	}
	if !g.redirectAllowed(uri) {
		return badParam("redirect_uri_not_allowed", "redirect_uri",
			"redirect_uri %s does not start with a prefix in METAGOV_OAUTH_REDIRECT_ALLOW (%d configured)", uri, len(g.cfg.OAuthRedirectAllow))
	}
	return nil
}

// Authorize starts an install: it checks the driver's parameters and
// returns the platform's authorization URL carrying a signed state.
func (g *Gateway) Authorize(ctx context.Context, name string, in AuthorizeInput) (string, error) {
	_, inst, err := g.installerOf(name)
	if err != nil {
		return "", err
	}
	if in.Type == "" {
		in.Type = plugin.InstallApp
	}
	if in.Type != plugin.InstallApp && in.Type != plugin.InstallUser {
		return "", badParam("invalid_type", "type", "Parameter 'type' must be 'app' or 'user'")
	}
	if err := g.checkRedirectURI(in.RedirectURI); err != nil {
		return "", err
	}
	if len(in.State) > maxDriverState {
		return "", badParam("invalid_state", "state", "state must be at most %d bytes", maxDriverState)
	}
	s := oauthState{Plugin: name, Type: in.Type, Community: in.Community, RedirectURI: in.RedirectURI, DriverState: in.State,
		CallbackURL: in.CallbackURL, Expires: g.now().Add(g.cfg.OAuthStateTTL).Unix(), Nonce: newNonce()}
	// Whether a community or an identity exists is not told here: the
	// route is public, and slugs are global (see the limited keys). The
	// callback checks both before it exchanges the code.
	switch {
	case in.Community != "":
		if !slugPattern.MatchString(in.Community) {
			return "", badParam("invalid_community", "community", "community must be a slug: 1 to 100 letters, digits, '-' or '_'")
		}
	case in.Type == plugin.InstallApp:
		// Created by the callback when the install succeeds, not now: an
		// abandoned install leaves nothing behind (the original created one
		// at every authorize).
		s.Community, s.New = uuid.NewString(), true
	}
	if in.MetagovID != "" {
		id, err := strconv.ParseInt(in.MetagovID, 10, 64)
		if err != nil || id <= 0 {
			return "", badParam("invalid_metagov_id", "metagov_id", "metagov_id must be a positive integer")
		}
		if in.Community == "" {
			return "", badParam("invalid_metagov_id", "metagov_id", "metagov_id is an identity of a community: give community too")
		}
		s.MetagovID = id
	}
	token, err := g.signState(s)
	if err != nil {
		return "", err
	}
	target, err := inst.AuthorizeURL(ctx, &plugin.AuthorizeRequest{Type: in.Type, State: token, RedirectURI: in.CallbackURL,
		Community: s.Community, Setting: g.cfg.Settings})
	if err != nil {
		var ie *plugin.InstallError
		if errors.As(err, &ie) {
			return "", &Error{Kind: KindInvalid, Code: Code(ie.Code), Detail: ie.Error(), Err: err}
		}
		return "", fromPlugin(name, fmt.Errorf("building the authorization URL: %w", err))
	}
	return target, nil
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CallbackResult is where the callback sends the user.
type CallbackResult struct {
	Redirect string
}

// Callback completes an install from the platform's callback query. A
// state that is missing, forged or for another plugin is an Error (there is
// no trusted redirect_uri to report it to); everything else, failures
// included, is a redirect back to the driver.
func (g *Gateway) Callback(ctx context.Context, name string, query url.Values) (string, error) {
	typ, inst, err := g.installerOf(name)
	if err != nil {
		return "", err
	}
	token := query.Get("state")
	if token == "" {
		return "", badParam("missing_state", "state", "missing state")
	}
	s, ok := g.openState(token)
	if !ok || s.Plugin != name {
		return "", badParam("invalid_state", "state", "the state is not one this gateway issued for plugin %s", name)
	}
	// The allow-list may have shrunk since the state was issued.
	if err := g.checkRedirectURI(s.RedirectURI); err != nil {
		return "", err
	}
	back := &redirectBack{uri: s.RedirectURI, params: url.Values{}}
	if s.DriverState != "" {
		back.params.Set("state", s.DriverState)
	}
	if s.Community != "" && !s.New {
		back.params.Set("community", s.Community)
	}
	expires := time.Unix(s.Expires, 0)
	if !g.now().Before(expires) {
		return back.fail("state_expired", "the install took longer than "+g.cfg.OAuthStateTTL.String()+"; start again"), nil
	}
	var fresh bool
	err = g.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = tx.OAuthStateUse(ctx, s.Nonce, expires)
		return err
	})
	if err != nil {
		return "", err
	}
	if !fresh {
		return back.fail("state_already_used", "this authorization was completed already; start again"), nil
	}
	if e := query.Get("error"); e != "" {
		return back.fail(truncate(e, 200), truncate(query.Get("error_description"), 500)), nil
	}
	code := query.Get("code")
	if code == "" {
		if ci, ok := inst.(plugin.CodelessInstaller); !ok || !ci.AcceptsNoCode(query) {
			return back.fail("server_error", "the platform sent no authorization code"), nil
		}
	}
	var community store.Community
	if s.Community != "" && !s.New {
		if community, err = g.store.CommunityGetBySlug(ctx, s.Community); err != nil {
			if isNotFound(err) {
				return back.fail(string(CodeCommunityNotFound), "there is no community "+s.Community), nil
			}
			return "", err
		}
	}
	if s.MetagovID != 0 {
		m, err := g.store.MetagovIDGet(ctx, s.MetagovID)
		if err != nil && !isNotFound(err) {
			return "", err
		}
		if err != nil || m.CommunityID != community.ID {
			return back.fail("invalid_metagov_id", fmt.Sprintf("metagov_id %d is not an identity of community %s", s.MetagovID, s.Community)), nil
		}
	}
	log := g.log.With(slog.String("plugin", name))
	installation, err := inst.Install(ctx, &plugin.InstallRequest{
		Type: s.Type, RedirectURI: s.CallbackURL, Community: s.Community, Code: code, MetagovID: s.MetagovID, Query: query,
		HTTPClient: g.cfg.HTTPClient, Logger: log, Now: g.cfg.Now, Setting: g.cfg.Settings,
		InstalledIn: func(ctx context.Context, platformID string) (string, error) {
			return g.installedIn(ctx, name, platformID)
		},
	})
	if err == nil && installation == nil {
		err = errors.New("the installer returned no installation")
	}
	if err != nil {
		return back.failWith(ctx, log, name, err), nil
	}
	if s.Type == plugin.InstallApp {
		err = g.installApp(ctx, typ, s, community, installation, back)
	} else {
		err = g.loginUser(ctx, typ, s, installation, back)
	}
	if err != nil {
		return back.failWith(ctx, log, name, err), nil
	}
	for k, vs := range installation.Redirect {
		switch k {
		case "state", "community", "error", "error_description", "user_token", "user_token_ref":
			continue // the gateway's own
		}
		back.params[k] = vs
	}
	return back.url(), nil
}

// installedIn names the community holding a plugin's instance for a
// platform account, or "".
func (g *Gateway) installedIn(ctx context.Context, name, platformID string) (string, error) {
	rows, err := g.store.PluginInstanceListByPlatformID(ctx, name, platformID)
	if err != nil || len(rows) == 0 {
		return "", err
	}
	c, err := g.store.CommunityGetByID(ctx, rows[0].CommunityID)
	if isNotFound(err) {
		return "", nil
	}
	return c.Slug, err
}

// installApp creates or updates the community's instance with the
// installation's config, links its accounts and keeps the user token, in
// one transaction.
func (g *Gateway) installApp(ctx context.Context, typ *pluginType, s oauthState, community store.Community, ins *plugin.Installation, back *redirectBack) error {
	name := typ.info.Name
	platformID := typ.platformID(typ.withDefaults(ins.Config))
	if platformID != "" {
		rows, err := g.store.PluginInstanceListByPlatformID(ctx, name, platformID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if s.New || r.CommunityID != community.ID {
				return &plugin.InstallError{Code: "installed_elsewhere",
					Description: fmt.Sprintf("this %s account (%s) is installed in another community", name, platformID)}
			}
		}
	}
	var existing []store.PluginInstance
	if !s.New {
		var err error
		if existing, err = g.store.PluginInstanceListByCommunity(ctx, community.ID); err != nil {
			return err
		}
	}
	p, err := g.prepareInstance(ctx, s.Community, existing, PluginConfig{Name: name, Config: ins.Config})
	if err != nil {
		return err
	}
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		c := community
		if s.New {
			var err error
			if c, err = tx.CommunityInsert(ctx, s.Community, ""); err != nil {
				return err
			}
			if err := g.audit(ctx, tx, c, "community.create", map[string]any{"via": "oauth", "plugin": name}); err != nil {
				return err
			}
		}
		row, err := g.apply(ctx, tx, c, p)
		if err != nil {
			return err
		}
		action := "plugin.update"
		if p.existing == nil {
			action = "plugin.enable"
		}
		detail := map[string]any{"plugin": name, "id": row.ID, "via": "oauth", "config": json.RawMessage(typ.redactConfig(p.config))}
		if err := g.audit(ctx, tx, c, action, detail); err != nil {
			return err
		}
		if err := g.linkAccounts(ctx, tx, c, name, row.PlatformID, ins.Accounts); err != nil {
			return err
		}
		if err := g.keepUserToken(ctx, tx, c, name, ins, back); err != nil {
			return err
		}
		return tx.ConfigGenerationBump(ctx)
	})
	g.cache.dropAll()
	if err != nil {
		return err
	}
	back.params.Set("community", s.Community)
	return nil
}

// loginUser links a platform user's accounts in the community of the
// instance they belong to.
func (g *Gateway) loginUser(ctx context.Context, typ *pluginType, s oauthState, ins *plugin.Installation, back *redirectBack) error {
	name := typ.info.Name
	rows, err := g.store.PluginInstanceListByPlatformID(ctx, name, ins.PlatformID)
	if err != nil {
		return err
	}
	var row *store.PluginInstance
	for i := range rows {
		c, err := g.store.CommunityGetByID(ctx, rows[i].CommunityID)
		if err != nil {
			return err
		}
		if s.Community == "" || c.Slug == s.Community {
			if row != nil {
				return &plugin.InstallError{Code: "ambiguous_community",
					Description: fmt.Sprintf("this %s account is installed in several communities: name one with community", name)}
			}
			row = &rows[i]
		}
	}
	if row == nil {
		return &plugin.InstallError{Code: "plugin_not_installed",
			Description: fmt.Sprintf("no community has %s installed for this account (%s)", name, ins.PlatformID)}
	}
	var slug string
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		c, err := tx.CommunityGetByID(ctx, row.CommunityID)
		if err != nil {
			return err
		}
		slug = c.Slug
		if err := g.linkAccounts(ctx, tx, c, name, row.PlatformID, ins.Accounts); err != nil {
			return err
		}
		return g.keepUserToken(ctx, tx, c, name, ins, back)
	})
	if err != nil {
		return err
	}
	back.params.Set("community", slug)
	return nil
}

// keepUserToken puts the installer's token where the driver gets it: in the
// redirect for legacy drivers, else behind a one-time reference.
func (g *Gateway) keepUserToken(ctx context.Context, tx *store.Tx, c store.Community, name string, ins *plugin.Installation, back *redirectBack) error {
	if ins.UserToken == "" {
		return nil
	}
	if g.cfg.LegacyDriver {
		back.params.Set("user_token", ins.UserToken)
		return nil
	}
	ref := "mgt_" + newNonce()
	sealed := ins.UserToken
	if g.cfg.Secrets != nil {
		sealed = g.cfg.Secrets.Seal([]byte(ins.UserToken))
	}
	err := tx.OAuthUserTokenInsert(ctx, &store.OAuthUserToken{RefHash: refHash(ref), CommunityID: c.ID, Plugin: name,
		UserID: ins.Redirect.Get("user_id"), Token: sealed, Expires: g.now().Add(userTokenTTL)})
	if err != nil {
		return err
	}
	back.params.Set("user_token_ref", ref)
	return nil
}

func refHash(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return hex.EncodeToString(sum[:])
}

// UserTokenView is what POST /api/internal/oauth/token answers.
type UserTokenView struct {
	UserToken string `json:"user_token"`
	UserID    string `json:"user_id,omitempty"`
	Plugin    string `json:"plugin"`
	Community string `json:"community"`
}

// TakeUserToken hands the driver an installer's token once.
func (g *Gateway) TakeUserToken(ctx context.Context, ref string) (UserTokenView, error) {
	notFound := &Error{Kind: KindNotFound, Code: "token_not_found", Field: "/ref",
		Detail: "no user token with this ref: it was fetched already, expired, or never existed"}
	var v UserTokenView
	if ref == "" {
		return v, &Error{Kind: KindInvalid, Code: "missing_parameter", Field: "/ref", Detail: "ref is required"}
	}
	err := g.writeTx(ctx, func(tx *store.Tx) error {
		t, err := tx.OAuthUserTokenPeek(ctx, refHash(ref), g.now())
		if isNotFound(err) || (err == nil && !principalFrom(ctx).allows(t.CommunityID)) {
			return notFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.OAuthUserTokenTake(ctx, refHash(ref), g.now()); err != nil {
			return err
		}
		c, err := tx.CommunityGetByID(ctx, t.CommunityID)
		if err != nil {
			return err
		}
		plain := []byte(t.Token)
		if g.cfg.Secrets != nil {
			if plain, err = g.cfg.Secrets.Open(t.Token); err != nil {
				return fmt.Errorf("decrypting a user token: %w", err)
			}
		}
		v = UserTokenView{UserToken: string(plain), UserID: t.UserID, Plugin: t.Plugin, Community: c.Slug}
		return nil
	})
	return v, err
}

// redirectBack builds the redirect to the driver's redirect_uri, keeping
// the query it already has.
type redirectBack struct {
	uri    string
	params url.Values
}

func (b *redirectBack) url() string {
	u, err := url.Parse(b.uri)
	if err != nil { // checked before; keep the driver's URI as it is
		return b.uri
	}
	q := u.Query()
	for k, vs := range b.params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (b *redirectBack) fail(code, description string) string {
	b.params.Set("error", code)
	if description != "" {
		b.params.Set("error_description", description)
	}
	return b.url()
}

// failWith reports an install failure to the driver: a plugin's own code,
// or a code for the kind of failure; internal details stay in the log.
func (b *redirectBack) failWith(ctx context.Context, log *slog.Logger, name string, err error) string {
	var ie *plugin.InstallError
	if errors.As(err, &ie) {
		return b.fail(ie.Code, ie.Description)
	}
	var ce *Error
	if errors.As(fromPlugin(name, err), &ce) {
		log.WarnContext(ctx, "OAuth install failed", slog.Any("error", err))
		return b.fail(string(ce.Code), ce.Detail)
	}
	log.ErrorContext(ctx, "OAuth install failed", slog.Any("error", err))
	return b.fail("server_error", "the install failed; the gateway's log has the details")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
