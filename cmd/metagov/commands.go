package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/joho/godotenv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/metagov/metagov-go/internal/apidoc"
	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// settings are the values of the command-line flags.
type settings struct {
	addr             string
	database         string
	eventReceiverURL string
	publicURL        string
	logFormat        string
	logLevel         string
	webhookSecret    string
	deliveryAllow    string
	eventRetention   time.Duration
	jobRescueAfter   time.Duration
	secretKey        string
	deliveryTimeout  time.Duration
	sqliteSync       string

	// The egress policy; deliveryAllow is egressAllow's former name.
	egressAllow       string
	egressDenyPrivate bool
	egressProxy       string

	// OAuth installs.
	oauthRedirectAllow string
	legacyDriver       bool
}

// envNames maps each flag to the environment variable that sets it when the
// flag is not given. DRIVER_EVENT_RECEIVER_URL keeps the original's name.
var envNames = map[string][]string{
	"addr":               {"METAGOV_ADDR"},
	"database":           {"METAGOV_DATABASE"},
	"event-receiver-url": {"DRIVER_EVENT_RECEIVER_URL"},
	"public-url":         {"METAGOV_PUBLIC_URL", "SERVER_URL"},
	"log-format":         {"METAGOV_LOG_FORMAT"},
	"log-level":          {"METAGOV_LOG_LEVEL"},
	"webhook-secret":     {"METAGOV_WEBHOOK_SECRET"},
	"event-retention":    {"METAGOV_EVENT_RETENTION"},
	"job-rescue-after":   {"METAGOV_JOB_RESCUE_AFTER"},
	"secret-key":         {"METAGOV_SECRET_KEY"},
	"delivery-timeout":   {"METAGOV_DELIVERY_TIMEOUT"},
	"sqlite-synchronous": {"METAGOV_SQLITE_SYNCHRONOUS"},

	// --delivery-allow, the former name of --egress-allow, is read from
	// METAGOV_EGRESS_ALLOW's alias.
	"egress-allow":        {"METAGOV_EGRESS_ALLOW", "METAGOV_DELIVERY_ALLOW"},
	"egress-deny-private": {"METAGOV_EGRESS_DENY_PRIVATE"},
	"egress-proxy":        {"METAGOV_EGRESS_PROXY"},

	"oauth-redirect-allow": {"METAGOV_OAUTH_REDIRECT_ALLOW"},
	"legacy-driver":        {"METAGOV_LEGACY_DRIVER"},
}

// Which settings each command takes: every command shows and accepts only
// its own flags.
var (
	serveSettings = []string{
		"addr", "database", "sqlite-synchronous", "event-receiver-url", "public-url", "log-format", "log-level", "webhook-secret",
		"egress-allow", "delivery-allow", "egress-deny-private", "egress-proxy",
		"event-retention", "secret-key", "delivery-timeout", "job-rescue-after",
		"oauth-redirect-allow", "legacy-driver",
	}
	databaseSettings = []string{"database"}
)

// defineFlags registers the flags of the named settings on f.
func (s *settings) defineFlags(f *pflag.FlagSet, names ...string) {
	for _, name := range names {
		switch name {
		case "addr":
			f.StringVar(&s.addr, "addr", "127.0.0.1:8000", "address to listen on (METAGOV_ADDR)")
		case "database":
			f.StringVar(&s.database, "database", "metagov.db", "SQLite file path or postgres:// URL (METAGOV_DATABASE)")
		case "sqlite-synchronous":
			f.StringVar(&s.sqliteSync, "sqlite-synchronous", "full",
				"SQLite only: full syncs every commit before answering; normal is faster but may lose the last commits to a power loss (METAGOV_SQLITE_SYNCHRONOUS)")
		case "event-receiver-url":
			f.StringVar(&s.eventReceiverURL, "event-receiver-url", "", "where driver events are POSTed (DRIVER_EVENT_RECEIVER_URL)")
		case "public-url":
			f.StringVar(&s.publicURL, "public-url", "", "externally reachable base URL, for platform webhooks (METAGOV_PUBLIC_URL)")
		case "log-format":
			f.StringVar(&s.logFormat, "log-format", "text", "log format: text or json (METAGOV_LOG_FORMAT)")
		case "log-level":
			f.StringVar(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error (METAGOV_LOG_LEVEL)")
		case "webhook-secret":
			f.StringVar(&s.webhookSecret, "webhook-secret", "", "whsec_ secret(s) signing deliveries; prefer the environment (METAGOV_WEBHOOK_SECRET)")
		case "egress-allow":
			f.StringVar(&s.egressAllow, "egress-allow", "",
				"CIDRs or addresses the gateway may reach although the egress policy refuses them (METAGOV_EGRESS_ALLOW, formerly METAGOV_DELIVERY_ALLOW)")
		case "delivery-allow":
			f.StringVar(&s.deliveryAllow, "delivery-allow", "", "former name of --egress-allow")
			_ = f.MarkDeprecated("delivery-allow", "use --egress-allow")
		case "egress-deny-private":
			switchVar(f, &s.egressDenyPrivate, "egress-deny-private", "",
				"refuse loopback and private destinations too; recommended for a hosted gateway (METAGOV_EGRESS_DENY_PRIVATE)")
		case "egress-proxy":
			f.StringVar(&s.egressProxy, "egress-proxy", "",
				"proxy URL for every outbound request; HTTP(S)_PROXY are never used (METAGOV_EGRESS_PROXY)")
		case "event-retention":
			f.DurationVar(&s.eventRetention, "event-retention", 30*24*time.Hour, "how long events are kept for pulling (METAGOV_EVENT_RETENTION)")
		case "secret-key":
			f.StringVar(&s.secretKey, "secret-key", "",
				"base64 key(s) encrypting plugin secrets, the current first; prefer the environment (METAGOV_SECRET_KEY); default: a key file beside the database")
		case "delivery-timeout":
			f.DurationVar(&s.deliveryTimeout, "delivery-timeout", 15*time.Second,
				"how long one delivery attempt may take; a crashed gateway's deliveries are taken over after twice that plus 5 s (METAGOV_DELIVERY_TIMEOUT)")
		case "job-rescue-after":
			f.DurationVar(&s.jobRescueAfter, "job-rescue-after", 5*time.Minute,
				"how long a job may run before it is taken to have died with its process and is run again (METAGOV_JOB_RESCUE_AFTER)")
		case "oauth-redirect-allow":
			f.StringVar(&s.oauthRedirectAllow, "oauth-redirect-allow", "",
				"comma-separated prefixes a driver's OAuth redirect_uri must start with; empty refuses OAuth installs (METAGOV_OAUTH_REDIRECT_ALLOW)")
		case "legacy-driver":
			switchVar(f, &s.legacyDriver, "legacy-driver", "",
				"legacy: put the installer's user token in the OAuth redirect and show secrets to admin keys, as the original did (METAGOV_LEGACY_DRIVER)")
		default:
			panic("metagov: no setting " + name)
		}
	}
}

// withFlags registers the named settings' flags on cmd and returns it.
func (s *settings) withFlags(cmd *cobra.Command, names ...string) *cobra.Command {
	s.defineFlags(cmd.Flags(), names...)
	return cmd
}

func newRootCommand() *cobra.Command {
	s := &settings{}
	root := &cobra.Command{
		Use:           "metagov",
		Short:         "Metagov governance API gateway",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnvironment(cmd.Flags())
		},
	}

	root.AddCommand(
		s.withFlags(&cobra.Command{
			Use:   "serve",
			Short: "Run the gateway: HTTP API, job workers and scheduler",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				logger, err := s.logger()
				if err != nil {
					return err
				}
				// Bind first: a gateway that cannot listen must not create
				// a database and key file on its way to failing.
				ln, err := net.Listen("tcp", s.addr)
				if err != nil {
					return fmt.Errorf("listening on %s: %w", s.addr, err)
				}
				// Serve at once: /healthz answers while the database opens
				// and migrates, /readyz once the gateway is ready.
				return app.Run(cmd.Context(), ln, s.appConfig(logger))
			},
		}, serveSettings...),
		s.withFlags(&cobra.Command{
			Use:   "migrate",
			Short: "Create the database, or apply new migrations to it (serve also applies them at start)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := s.openStore(cmd)
				if err != nil {
					return err
				}
				defer st.Close()
				fmt.Fprintf(cmd.OutOrStdout(), "migrated %s database\n", st.Dialect())
				return nil
			},
		}, databaseSettings...),
		s.withFlags(&cobra.Command{
			Use:   "webhook-secret",
			Short: "Print the secret(s) that sign deliveries, generating one if the gateway's database has none",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := s.openExistingStore(cmd)
				if err != nil {
					return err
				}
				defer st.Close()
				// The stored secret is encrypted; a configured one needs no key.
				var box *secrets.Box
				if s.webhookSecret == "" {
					if box, err = app.SecretBox(s.secretKey, app.KeyFile(s.database), nil); err != nil {
						return err
					}
				}
				secret, err := app.WebhookSecret(cmd.Context(), st, box, s.webhookSecret, nil)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				return nil
			},
		}, "database", "webhook-secret", "secret-key"),
		s.secretsCommand(),
		s.apikeyCommand(),
		tallyCommand(),
	)
	root.AddCommand(driverCommands()...)
	root.AddCommand(
		s.withFlags(&cobra.Command{
			Use:   "openapi",
			Short: "Print the OpenAPI document",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				doc, err := apidoc.Build(pluginrt.List(), apidoc.Options{Version: version, ServerURL: s.publicURL})
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(append(doc, '\n'))
				return err
			},
		}, "public-url"),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version, the module version and the VCS revision it was built from",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprint(cmd.OutOrStdout(), versionText())
			},
		},
	)
	// No generated shell-completion command: its flags would be the only
	// ones shown pflag's way. The help command gets the quiet help flag too.
	root.CompletionOptions.DisableDefaultCmd = true
	root.InitDefaultHelpCmd()
	quietHelpFlags(root)
	return root
}

// applyEnvironment loads .env from the working directory (it never overrides
// variables already set) and gives every flag not set on the command line
// the value of its environment variable: flag, then environment, then .env,
// then the default.
func applyEnvironment(flags *pflag.FlagSet) error {
	if err := godotenv.Load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading .env: %w", err)
	}
	return applyEnv(flags, envNames)
}

// applyEnv gives every flag not set on the command line the value of its
// first environment variable in names that is set.
func applyEnv(flags *pflag.FlagSet, names map[string][]string) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		for _, name := range names[f.Name] {
			if v, ok := os.LookupEnv(name); ok && v != "" {
				if setErr := f.Value.Set(v); setErr != nil {
					err = fmt.Errorf("%s: %w", name, setErr)
				}
				return
			}
		}
	})
	return err
}

func (s *settings) appConfig(logger *slog.Logger) app.Config {
	return app.Config{
		Addr:              s.addr,
		Database:          s.database,
		EventReceiverURL:  s.eventReceiverURL,
		SQLiteSynchronous: s.sqliteSync,
		PublicURL:         strings.TrimSuffix(s.publicURL, "/"),
		Logger:            logger,
		Version:           version,
		WebhookSecret:     s.webhookSecret,
		DeliveryAllow:     s.deliveryAllow,
		EventRetention:    s.eventRetention,
		RescueAfter:       s.jobRescueAfter,
		SecretKey:         s.secretKey,
		DeliveryTimeout:   s.deliveryTimeout,

		EgressAllow:       s.egressAllow,
		EgressDenyPrivate: s.egressDenyPrivate,
		EgressProxy:       s.egressProxy,

		OAuthRedirectAllow: s.oauthRedirectAllow,
		LegacyDriver:       s.legacyDriver,
	}
}

func (s *settings) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", s.logLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", s.logFormat)
}

// secretsCommand groups the commands that manage the key encrypting plugin
// secrets.
func (s *settings) secretsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "Manage the key that encrypts plugin secrets and the stored webhook secret"}
	cmd.AddCommand(s.withFlags(&cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every plugin secret, and the stored webhook secret, with a new key",
		Long: "With a key file (the default), generates a new key, re-encrypts every secret and keeps only the new key.\n" +
			"With METAGOV_SECRET_KEY, put the new key first and the old one after it, run this, then drop the old one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := s.openExistingStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := app.RotateSecrets(cmd.Context(), st, s.secretKey, app.KeyFile(s.database))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "plugin secrets and the stored webhook secret are encrypted with key %s\n", id)
			return nil
		},
	}, "database", "secret-key"))
	return cmd
}

// apikeyCommand groups the commands that manage driver API keys.
func (s *settings) apikeyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage the API keys drivers authenticate with"}
	var communities []string
	var name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key and print it (once: only its hash is kept)",
		Long: "Without --community the key is an admin key: every community, and it may create communities.\n" +
			"Once any key exists, every /api/internal call needs one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := s.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			key, id, err := core.CreateAPIKey(cmd.Context(), st, name, communities)
			if err != nil {
				return err
			}
			// The key is shown only now: one nobody could read must not stay live.
			if _, err := fmt.Fprintln(cmd.OutOrStdout(), key); err != nil {
				if rerr := core.RevokeAPIKey(cmd.Context(), st, id); rerr != nil {
					return fmt.Errorf("printing API key %d: %w; revoking it also failed (run `metagov apikey revoke %d`): %w", id, err, id, rerr)
				}
				return fmt.Errorf("printing API key %d: %w; the key was revoked", id, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created API key %d; it is shown only now\n", id)
			return nil
		},
	}
	create.Flags().StringArrayVar(&communities, "community", nil, "a community the key may reach (repeatable)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	s.defineFlags(create.Flags(), databaseSettings...)
	cmd.AddCommand(create,
		s.withFlags(&cobra.Command{
			Use:   "list",
			Short: "List keys (never the keys themselves)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := s.openExistingStore(cmd)
				if err != nil {
					return err
				}
				defer st.Close()
				keys, err := core.ListAPIKeys(cmd.Context(), st)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tPREFIX\tSCOPE\tSTATUS")
				for _, k := range keys {
					scope, status := "admin", "live"
					if !k.Admin {
						scope = strings.Join(k.Communities, ",")
					}
					if k.Revoked {
						status = "revoked"
					}
					fmt.Fprintf(w, "%d\t%s\t%s…\t%s\t%s\n", k.ID, k.Name, k.Prefix, scope, status)
				}
				return w.Flush()
			},
		}, databaseSettings...),
		s.withFlags(&cobra.Command{
			Use:   "revoke ID",
			Short: "Revoke a key; it stops working within a second",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return fmt.Errorf("key id %q is not a number", args[0])
				}
				st, err := s.openExistingStore(cmd)
				if err != nil {
					return err
				}
				defer st.Close()
				if err := core.RevokeAPIKey(cmd.Context(), st, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked API key %d\n", id)
				return nil
			},
		}, databaseSettings...),
	)
	return cmd
}

// openStore opens and migrates the database, creating it if need be, for
// the commands that work on it without serving.
func (s *settings) openStore(cmd *cobra.Command) (*store.Store, error) {
	st, err := store.Open(cmd.Context(), s.database)
	if err != nil {
		return nil, err
	}
	if err := app.Migrate(cmd.Context(), st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openExistingStore opens a gateway's database for the commands that read
// one (webhook-secret, apikey list and revoke, secrets rotate). Where there
// is none they fail rather than create one: a secret printed from a fresh
// database, in the wrong directory, signs nothing any gateway sends. A
// database of an older version is migrated.
func (s *settings) openExistingStore(cmd *cobra.Command) (*store.Store, error) {
	missing := fmt.Errorf("no Metagov database at %s: run this where the gateway runs, or point --database "+
		"(METAGOV_DATABASE) at its database; \"metagov serve\" or \"metagov migrate\" creates one", s.database)
	isPostgres := strings.HasPrefix(s.database, "postgres://") || strings.HasPrefix(s.database, "postgresql://")
	if !isPostgres {
		if _, err := os.Stat(s.database); errors.Is(err, fs.ErrNotExist) {
			return nil, missing
		}
	}
	st, err := store.Open(cmd.Context(), s.database)
	if err != nil {
		return nil, err
	}
	// The gateway's tables exist once its first migration ran.
	query := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'communities')`
	if st.Dialect() == store.Postgres {
		query = `SELECT to_regclass('communities') IS NOT NULL`
	}
	var exists bool
	if err := st.DB().QueryRowContext(cmd.Context(), query).Scan(&exists); err != nil {
		st.Close()
		return nil, fmt.Errorf("reading %s: %w", s.database, err)
	}
	if !exists {
		st.Close()
		return nil, missing
	}
	if err := app.Migrate(cmd.Context(), st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// tallyCommand recounts an exported vote (the output of vote.export) and
// checks it: the digest must match the rules and ballots, and the recount
// must give the recorded outcome.
func tallyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tally FILE",
		Short: "Recount an exported vote (vote.export) and check its digest and outcome",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var rec tally.Record
			if err := json.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("reading %s: %w", args[0], err)
			}
			out, err := tally.Recompute(rec)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return err
			}
			if err := tally.Verify(rec); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "verified: the digest matches and the recount gives the recorded outcome")
			return nil
		},
	}
}

// quietHelpFlags gives cmd and its subcommands a --help flag that is shown as
// "-h, --help" rather than pflag's "--help[=true|false]".
func quietHelpFlags(cmd *cobra.Command) {
	var help bool
	switchVar(cmd.Flags(), &help, "help", "h", "help for "+cmd.Name())
	for _, c := range cmd.Commands() {
		quietHelpFlags(c)
	}
}

// switchValue is a boolean flag value that pflag's help does not annotate
// with "[=true|false]" (it annotates values that say IsBoolFlag). With
// NoOptDefVal "true" it still works as --name, --name=false and -n.
type switchValue struct{ p *bool }

func (v switchValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}

func (v switchValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*v.p = b
	return nil
}

// Type is "bool", so cobra's GetBool("help") reads it.
func (v switchValue) Type() string { return "bool" }

// switchVar defines a boolean flag, default false, that is set by naming it.
func switchVar(f *pflag.FlagSet, p *bool, name, shorthand, usage string) {
	*p = false
	f.VarPF(switchValue{p}, name, shorthand, usage).NoOptDefVal = "true"
}

// versionText describes the build: the release version, then the module
// version and VCS revision the Go toolchain stamped into the binary.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "metagov %s\n", version)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		b.WriteString("build information: not available\n")
		return b.String()
	}
	fmt.Fprintf(&b, "module: %s %s\n", info.Main.Path, info.Main.Version)
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	switch rev := settings["vcs.revision"]; rev {
	case "":
		b.WriteString("revision: unknown (built without VCS information)\n")
	default:
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		if at := settings["vcs.time"]; at != "" {
			rev += " " + at
		}
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	fmt.Fprintf(&b, "go: %s\n", info.GoVersion)
	return b.String()
}
