package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// installFreshness is how recently an installation must have been created
// or changed for an install callback to claim it. GitHub sends the setup
// URL only installation_id and setup_action, which anyone could type, and
// the app does not exchange a user's code: an installation made (or
// reconfigured) in the last hour is the one the person just made. The
// gateway's one-time state, which expires, does the rest.
const installFreshness = time.Hour

// installer installs the app through the gateway's OAuth routes: the
// driver's user is sent to the app's install page, and GitHub sends them
// back to the app's Setup URL (the gateway's /auth/github/callback).
type installer struct{}

// webURL is GitHub's web site for an API URL: https://github.com for
// api.github.com, and https://<host> for a GitHub Enterprise Server's
// https://<host>/api/v3.
func webURL(apiURL string) string {
	apiURL = strings.TrimRight(apiURL, "/")
	if apiURL == DefaultAPIURL {
		return "https://github.com"
	}
	return strings.TrimSuffix(apiURL, "/api/v3")
}

// AuthorizeURL is the app's install page. GitHub sends the person back to
// the app's Setup URL with the state; a user login (type=user) needs the
// app's OAuth client, which the original did not use either, and is
// refused.
func (installer) AuthorizeURL(_ context.Context, req *plugin.AuthorizeRequest) (string, error) {
	if req.Type == plugin.InstallUser {
		return "", &plugin.InstallError{Code: "github_user_login_unsupported", Description: "the github plugin installs the app (type=app) only; GitHub user login is not supported"}
	}
	s, err := loadSettings(req.Setting)
	if err != nil {
		return "", err
	}
	if s.AppName == "" {
		return "", &plugin.SettingsError{Plugin: platform, Settings: []string{SettingAppName}}
	}
	return webURL(s.APIURL) + "/apps/" + url.PathEscape(s.AppName) + "/installations/new?" + url.Values{"state": {req.State}}.Encode(), nil
}

// AcceptsNoCode accepts GitHub's setup callback, which carries
// installation_id and no code unless the app requests user authorization
// on install (the original required a code and failed those installs).
func (installer) AcceptsNoCode(q url.Values) bool {
	return q.Get("installation_id") != ""
}

// Install reads the installation as the app and configures the instance
// for it; the Initializer then runs (the original skipped it, and later
// calls went to /repos/None/...).
func (installer) Install(ctx context.Context, req *plugin.InstallRequest) (*plugin.Installation, error) {
	q := req.Query
	if q.Get("setup_action") == "request" {
		return nil, &plugin.InstallError{Code: "github_installation_requested",
			Description: "the installation was requested and awaits approval by an owner of the account; start again once it is approved"}
	}
	raw := q.Get("installation_id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, &plugin.InstallError{Code: "github_invalid_installation", Description: "GitHub sent no valid installation_id"}
	}
	s, err := loadSettings(req.Setting)
	if err != nil {
		return nil, err
	}
	hc := req.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	now := req.Now
	if now == nil {
		now = time.Now
	}
	app, err := newClient(hc, strings.TrimRight(s.APIURL, "/")+"/", &appAuth{s: s, now: now})
	if err != nil {
		return nil, err
	}
	inst, _, err := app.Apps.GetInstallation(ctx, id)
	if err != nil {
		pe := platformError(err)
		if p, ok := errors.AsType[*plugin.PlatformError](pe); ok && p.Status == http.StatusNotFound {
			return nil, &plugin.InstallError{Code: "github_invalid_installation", Description: fmt.Sprintf("installation %d is not an installation of this app", id)}
		}
		return nil, fmt.Errorf("reading installation %d: %w", id, pe)
	}
	changed := inst.GetUpdatedAt().Time
	if c := inst.GetCreatedAt().Time; c.After(changed) {
		changed = c
	}
	if now().Sub(changed) > installFreshness {
		return nil, &plugin.InstallError{Code: "github_installation_unverified",
			Description: fmt.Sprintf("installation %d was not created or changed in the last hour; enable the plugin with its installation_id instead", id)}
	}
	cfg, err := json.Marshal(Config{InstallationID: raw, Owner: inst.GetAccount().GetLogin()})
	if err != nil {
		return nil, fmt.Errorf("encoding the github config: %w", err)
	}
	return &plugin.Installation{Config: cfg}, nil
}
