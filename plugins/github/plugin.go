// Package github connects a community to a GitHub App installation
// (https://docs.github.com/apps): a user or organization installs the
// gateway's GitHub App on some of its repositories, and the instance acts as
// that installation.
//
// The app is the gateway's, configured once by settings (GITHUB_APP_ID,
// GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET,
// GITHUB_APP_NAME, METAGOV_GITHUB_API_URL); an instance's config names the
// installation (installation_id, its community_platform_id) and its owner.
// Calls are authenticated with an installation access token obtained with
// the app's JWT (RS256), kept in memory, renewed five minutes before it
// expires by the gateway's clock and once when GitHub answers 401.
//
// It offers the original Metagov's actions (method, create-issue,
// get-installation), its two issue votes (issue-react-vote, counted from
// 👍/👎 reactions, and issue-comment-vote, counted from ^^^^vote^^^^
// comments), and the app's webhook at /api/hooks/github: every delivery is
// checked against X-Hub-Signature-256 before it is parsed, routed by
// installation.id, and sent to the driver as "<action> <event>" (plain
// "<event>" for events without an action, such as push).
//
// Every call goes through the gateway's egress-policied HTTP client; the
// REST client is go-github, pointed at METAGOV_GITHUB_API_URL.
package github

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v92/github"

	"github.com/metagov/metagov-go/plugin"
)

// platform names GitHub in platform errors.
const platform = "github"

// Gateway settings the plugin reads (environment or .env).
const (
	SettingAppName        = "GITHUB_APP_NAME"
	SettingAppID          = "GITHUB_APP_ID"
	SettingPrivateKey     = "GITHUB_PRIVATE_KEY"
	SettingPrivateKeyPath = "GITHUB_PRIVATE_KEY_PATH"
	SettingWebhookSecret  = "GITHUB_WEBHOOK_SECRET"
	SettingAPIURL         = "METAGOV_GITHUB_API_URL"
)

// DefaultAPIURL is GitHub.com's REST API. A GitHub Enterprise Server's is
// https://<host>/api/v3.
const DefaultAPIURL = "https://api.github.com"

// pollInterval is how often pending votes are counted again: GitHub sends
// no webhook for reactions.
const pollInterval = time.Minute

func init() {
	plugin.Register(plugin.Info{
		Name:          "github",
		Description:   "GitHub App installation: issues, any REST method, votes on issues, and the app's webhooks",
		AuthType:      plugin.AuthOAuth,
		OAuth:         installer{},
		Config:        configSchema,
		ConfigType:    reflect.TypeFor[Config](),
		PlatformIDKey: "installation_id",
		New:           func() plugin.Instance { return &GitHub{} },
		Actions:       actions,
		Processes: []plugin.ProcessType{{
			Name:         "issue-react-vote",
			Description:  "A vote on a new GitHub issue, counted from 👍 (yes) and 👎 (no) reactions of users; closes at max_votes or on DELETE",
			Input:        voteInputSchema,
			InputType:    reflect.TypeFor[voteInput](),
			Outcome:      reactOutcomeSchema,
			PollInterval: pollInterval,
			New:          func(inst plugin.Instance) plugin.ProcessHandler { return reactVote{g: inst.(*GitHub)} },
		}, {
			Name:         "issue-comment-vote",
			Description:  "A vote on a new GitHub issue, counted from comments of the form ^^^^vote^^^^ (each user's first vote counts); closes at max_votes or on DELETE",
			Input:        voteInputSchema,
			InputType:    reflect.TypeFor[voteInput](),
			Outcome:      commentOutcomeSchema,
			PollInterval: pollInterval,
			New:          func(inst plugin.Instance) plugin.ProcessHandler { return commentVote{g: inst.(*GitHub)} },
		}},
		Events:   eventTypes,
		Platform: router{},
	})
}

// configSchema follows the original: the installation is required, the
// owner is filled from GitHub when left out.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"installation_id": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$",
			"description": "The id of the GitHub App installation (in the installation's settings URL, or the install callback's installation_id). It identifies the instance (community_platform_id)."},
		"owner": {"type": "string", "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
			"description": "The user or organization that installed the app; repositories are taken to be theirs. Read from GitHub when left out."}
	},
	"required": ["installation_id"]
}`)

// Config is the instance config.
type Config struct {
	InstallationID string `json:"installation_id"`
	Owner          string `json:"owner"`
}

// Settings are the gateway-wide settings of the GitHub App.
type Settings struct {
	AppName       string
	AppID         string
	PrivateKey    *rsa.PrivateKey
	WebhookSecret string
	APIURL        string
}

// loadSettings reads the app's settings. A missing app id or private key is
// an error only for what needs them (tokens), so that the webhook secret
// alone can be checked, and the error says which setting to set.
func loadSettings(setting func(string) string) (Settings, error) {
	s := Settings{
		AppName:       setting(SettingAppName),
		AppID:         strings.TrimSpace(setting(SettingAppID)),
		WebhookSecret: setting(SettingWebhookSecret),
		APIURL:        strings.TrimSpace(setting(SettingAPIURL)),
	}
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	pemText := setting(SettingPrivateKey)
	if pemText == "" {
		if path := setting(SettingPrivateKeyPath); path != "" {
			raw, err := os.ReadFile(path)
			if err != nil {
				// The path and the OS's words stay in the log, not in answers.
				return s, fmt.Errorf("reading the GitHub App private key: %v: %w", err,
					&plugin.SettingsError{Plugin: platform, Settings: []string{SettingPrivateKeyPath}, Message: "the file cannot be read"})
			}
			pemText = string(raw)
		}
	}
	if pemText != "" {
		key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(pemText))
		if err != nil {
			return s, &plugin.SettingsError{Plugin: platform, Settings: []string{SettingPrivateKey + " or " + SettingPrivateKeyPath},
				Message: "not an RSA private key in PEM form"}
		}
		s.PrivateKey = key
	}
	return s, nil
}

// GitHub is one enabled installation.
type GitHub struct {
	cfg            Config
	installationID int64
	settings       Settings
	tokens         *tokenSource
	// api calls as the installation, app as the app (JWT).
	api *gh.Client
	app *gh.Client
	now func() time.Time

	ownerMu sync.Mutex
	owner   string // cfg.Owner, or read from GitHub at Initialize
}

// Provision reads the app's settings and builds the two REST clients over
// the gateway's HTTP client.
func (g *GitHub) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&g.cfg); err != nil {
		return fmt.Errorf("provisioning github: %w", err)
	}
	id, err := strconv.ParseInt(g.cfg.InstallationID, 10, 64)
	if err != nil {
		return &plugin.InputError{Field: "/installation_id", Message: "not an installation id: " + err.Error()}
	}
	g.installationID = id
	g.owner = g.cfg.Owner
	g.settings, err = loadSettings(env.Setting)
	if err != nil {
		return err
	}
	g.now = env.Now
	if g.now == nil {
		g.now = time.Now
	}
	hc := env.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := strings.TrimRight(g.settings.APIURL, "/") + "/"
	g.app, err = newClient(hc, base, &appAuth{s: g.settings, now: g.now})
	if err != nil {
		return err
	}
	g.tokens = newTokenSource(g.app, base, g.settings.AppID, id, g.now)
	g.api, err = newClient(hc, base, &installationAuth{tokens: g.tokens})
	return err
}

// Owner is the installation's account login.
func (g *GitHub) Owner() string {
	g.ownerMu.Lock()
	defer g.ownerMu.Unlock()
	return g.owner
}

// Initialize checks that the installation exists and can be acted as (it
// fetches an installation token), and reads the owner when the config does
// not name it, so that later calls never go to /repos/None/... as the
// original's did after an install.
func (g *GitHub) Initialize(ctx context.Context, c *plugin.Call) error {
	inst, err := g.getInstallation(ctx)
	if err != nil {
		return err
	}
	login := inst.GetAccount().GetLogin()
	if g.cfg.Owner != "" && !strings.EqualFold(g.cfg.Owner, login) {
		return &plugin.InputError{Field: "/owner", Message: fmt.Sprintf("installation %d belongs to %q, not %q", g.installationID, login, g.cfg.Owner)}
	}
	if err := g.tokens.ensure(ctx); err != nil {
		return err
	}
	g.ownerMu.Lock()
	g.owner = login
	g.ownerMu.Unlock()
	if err := c.State().Set("owner", login); err != nil {
		return fmt.Errorf("initializing github: %w", err)
	}
	return nil
}

// ownerFor returns the owner, reading it from state when the config left
// it out and this instance was built after Initialize.
func (g *GitHub) ownerFor(ctx context.Context, c *plugin.Call) (string, error) {
	if o := g.Owner(); o != "" {
		return o, nil
	}
	var o string
	if _, err := c.State().Get(ctx, "owner", &o); err != nil {
		return "", fmt.Errorf("reading github owner: %w", err)
	}
	if o == "" {
		inst, err := g.getInstallation(ctx)
		if err != nil {
			return "", err
		}
		o = inst.GetAccount().GetLogin()
	}
	g.ownerMu.Lock()
	g.owner = o
	g.ownerMu.Unlock()
	return o, nil
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner            = (*GitHub)(nil)
	_ plugin.Initializer            = (*GitHub)(nil)
	_ plugin.WebhookVerifier        = (*GitHub)(nil)
	_ plugin.WebhookReceiver        = (*GitHub)(nil)
	_ plugin.PlatformRouter         = router{}
	_ plugin.ProcessCloser          = reactVote{}
	_ plugin.ProcessPoller          = reactVote{}
	_ plugin.ProcessCloser          = commentVote{}
	_ plugin.ProcessPoller          = commentVote{}
	_ plugin.ProcessWebhookReceiver = commentVote{}
	_ plugin.ProcessWebhookReceiver = reactVote{}
)
