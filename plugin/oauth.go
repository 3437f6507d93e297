package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Install types: the "type" query parameter of /auth/<plugin>/authorize.
const (
	// InstallApp installs the plugin for a community: the callback creates
	// or updates an instance with the config the Installer returns.
	InstallApp = "app"
	// InstallUser logs a platform user in: the callback links the user's
	// account to an existing instance's community and creates no instance.
	InstallUser = "user"
)

// Installer is what a plugin declaring AuthOAuth puts in Info.OAuth: the
// platform side of the gateway's OAuth routes. The gateway owns the routes
// (/auth/<plugin>/authorize and /auth/<plugin>/callback), the driver's
// parameters, the signed state, the redirect back to the driver, storing the
// config (its writeOnly properties encrypted) and linking accounts; the
// Installer only talks to the platform. It has no instance: it runs before
// one exists.
type Installer interface {
	// AuthorizeURL returns the platform's authorization URL to send the
	// user to. It must carry req.State and req.RedirectURI unchanged
	// (properly query-escaped): the platform hands them back to the
	// gateway's callback.
	AuthorizeURL(ctx context.Context, req *AuthorizeRequest) (string, error)
	// Install exchanges the callback's code for tokens with
	// req.HTTPClient and describes what to store. An [*InstallError] is
	// sent back to the driver as error and error_description; any other
	// error is logged and sent as error=server_error (egress_refused when
	// it matches [ErrEgressRefused]).
	Install(ctx context.Context, req *InstallRequest) (*Installation, error)
}

// CodelessInstaller is implemented by an [Installer] whose platform may
// call back without an authorization code: a GitHub App that does not
// request user authorization on install sends only installation_id and
// setup_action. When the callback has no code and AcceptsNoCode accepts its
// query, the gateway calls Install with an empty Code (otherwise a missing
// code is error=server_error, as for every other platform). Such an
// Installer must check what the query claims with the platform itself.
type CodelessInstaller interface {
	Installer
	AcceptsNoCode(query url.Values) bool
}

// AuthorizeRequest is what the gateway knows when a driver starts an install.
type AuthorizeRequest struct {
	// Type is InstallApp or InstallUser.
	Type string
	// State is the gateway's signed, expiring state: pass it to the
	// platform as its state parameter, unchanged.
	State string
	// RedirectURI is the gateway's callback URL,
	// <public URL>/auth/<plugin>/callback, to register with the platform
	// and to pass as its redirect_uri where the platform takes one.
	RedirectURI string
	// Community is the slug of the community to install into (for
	// InstallApp always set: the gateway creates one when the driver gave
	// none); for InstallUser it may be empty.
	Community string
	// Setting reads a gateway setting by name, such as "SLACK_CLIENT_ID"
	// (from the environment or .env); empty when unset.
	Setting func(name string) string
}

// InstallRequest is the platform's callback, checked by the gateway: the
// state was genuine, unexpired and not used before, and the platform
// reported no error.
type InstallRequest struct {
	// Type, RedirectURI and Community are those of the AuthorizeRequest.
	Type        string
	RedirectURI string
	Community   string
	// Code is the authorization code to exchange; empty only for a
	// [CodelessInstaller] that accepted a callback without one.
	Code string
	// MetagovID is the driver's metagov_id (the external id of the
	// identity of the person installing or logging in), or 0. Give it as
	// Account.ExternalID of that person's account.
	MetagovID int64
	// Query is the whole callback query, for platforms that send more than
	// code and state (a GitHub installation_id).
	Query url.Values
	// HTTPClient enforces the egress policy; make every token exchange
	// with it.
	HTTPClient *http.Client
	// Logger carries the plugin.
	Logger *slog.Logger
	// Now is the gateway's clock.
	Now func() time.Time
	// Setting reads a gateway setting by name; empty when unset.
	Setting func(name string) string
	// InstalledIn returns the slug of the community holding this plugin's
	// instance for the platform account platformID (see
	// Info.PlatformIDKey), or "" when there is none: for refusing an
	// account installed elsewhere with the platform's own error code, or a
	// user login for an account never installed.
	InstalledIn func(ctx context.Context, platformID string) (string, error)
}

// Installation is what an install or login produced.
type Installation struct {
	// Config, for InstallApp, is the instance config: validated against
	// Info.Config, its writeOnly properties (tokens) stored encrypted. Its
	// Info.PlatformIDKey property is the instance's platform id: an
	// install for a community that already has an instance with that id
	// replaces that instance's config (state and processes are kept, and
	// the Initializer runs again); one whose platform id is held by an
	// instance in another community is refused. Nil for InstallUser.
	Config json.RawMessage
	// PlatformID, for InstallUser, names the platform account (the
	// instance) the user belongs to; the gateway links Accounts in that
	// instance's community.
	PlatformID string
	// Accounts are linked to identities in the instance's community, with
	// platform_type the plugin's name and community_platform_id the
	// instance's platform id, as [Identity.Link] does.
	Accounts []Account
	// Redirect holds extra query parameters for the redirect back to the
	// driver, such as user_id and team_id. The gateway adds state and
	// community (and error on failure); it refuses to let these override
	// them.
	Redirect url.Values
	// UserToken is a token of the person who authorized, for the driver.
	// It never travels in the redirect by default: the redirect carries
	// user_token_ref, which the driver exchanges once, with its API key,
	// at POST /api/internal/oauth/token. With METAGOV_LEGACY_DRIVER=true
	// the redirect carries user_token itself, as the original did.
	UserToken string
}

// InstallError is an install refused for a reason the driver should see:
// it is sent back to the driver's redirect_uri as error=Code and
// error_description=Description.
type InstallError struct {
	// Code is a short machine-readable code, such as
	// "slack_installer_is_not_admin".
	Code string
	// Description is for people.
	Description string
}

func (e *InstallError) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Link types and qualities of an [Account], as the original named them.
const (
	LinkTypeOAuth         = "oauth"
	LinkTypeManualAdmin   = "manual admin"
	LinkTypeEmailMatching = "email matching"
	LinkTypeUnknown       = "unknown"

	// Qualities, weakest first.
	LinkQualityUnknown         = "unknown"
	LinkQualityUnconfirmed     = "unconfirmed"
	LinkQualityConfirmedWeak   = "confirmed (weak)"
	LinkQualityConfirmedStrong = "confirmed (strong)"
)

// Account is a platform account to link to a community's identity (a
// MetagovID). The community, the platform_type (the plugin's name) and the
// community_platform_id (the instance's platform id) come from the instance.
type Account struct {
	// PlatformIdentifier is the user's id on the platform, such as a Slack
	// user id.
	PlatformIdentifier string
	// ExternalID is the identity to link to; 0 links to the account's
	// current identity or, for a new account, a new identity.
	ExternalID int64
	// CustomData is any JSON object; nil keeps the stored one.
	CustomData map[string]any
	// LinkType is one of the LinkType constants; empty means unknown.
	LinkType string
	// LinkQuality is one of the LinkQuality constants; empty means
	// unknown.
	LinkQuality string
}

// Validate reports an Account the gateway would refuse.
func (a Account) Validate() error {
	if a.PlatformIdentifier == "" {
		return fmt.Errorf("linking an account: empty platform identifier")
	}
	switch a.LinkType {
	case "", LinkTypeOAuth, LinkTypeManualAdmin, LinkTypeEmailMatching, LinkTypeUnknown:
	default:
		return fmt.Errorf("linking account %q: unknown link type %q", a.PlatformIdentifier, a.LinkType)
	}
	if linkQualityRank(a.LinkQuality) < 0 {
		return fmt.Errorf("linking account %q: unknown link quality %q", a.PlatformIdentifier, a.LinkQuality)
	}
	if a.ExternalID < 0 {
		return fmt.Errorf("linking account %q: negative external id", a.PlatformIdentifier)
	}
	return nil
}

// linkQualityRank orders link qualities, weakest first: unknown (or empty)
// 0, unconfirmed 1, confirmed (weak) 2, confirmed (strong) 3; -1 for
// anything else.
func linkQualityRank(q string) int {
	switch q {
	case "", LinkQualityUnknown:
		return 0
	case LinkQualityUnconfirmed:
		return 1
	case LinkQualityConfirmedWeak:
		return 2
	case LinkQualityConfirmedStrong:
		return 3
	}
	return -1
}

// Identity links platform accounts to the identities of the instance's
// community. Links are buffered and committed with the invocation.
type Identity struct {
	links []Account
}

// Link records that the platform account belongs to an identity: a new
// account is linked (to a.ExternalID, or to a new identity); an account
// already linked is updated only when a.LinkQuality is strictly higher
// than its stored quality (so an automatic guess never downgrades an
// account a person confirmed), and then takes a's type, quality, custom
// data and, if given, identity. It is committed when the invocation
// succeeds.
func (id *Identity) Link(_ context.Context, a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	id.links = append(id.links, a)
	return nil
}
