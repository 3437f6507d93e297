package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
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
	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
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

	// The egress policy; deliveryAllow is egressAllow's former name.
	egressAllow       string
	egressDenyPrivate bool
	egressProxy       string
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

	// --delivery-allow, the former name of --egress-allow, is read from
	// METAGOV_EGRESS_ALLOW's alias.
	"egress-allow":        {"METAGOV_EGRESS_ALLOW", "METAGOV_DELIVERY_ALLOW"},
	"egress-deny-private": {"METAGOV_EGRESS_DENY_PRIVATE"},
	"egress-proxy":        {"METAGOV_EGRESS_PROXY"},
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
	f := root.PersistentFlags()
	f.StringVar(&s.addr, "addr", "127.0.0.1:8000", "address to listen on (METAGOV_ADDR)")
	f.StringVar(&s.database, "database", "metagov.db", "SQLite file path or postgres:// URL (METAGOV_DATABASE)")
	f.StringVar(&s.eventReceiverURL, "event-receiver-url", "", "where driver events are POSTed (DRIVER_EVENT_RECEIVER_URL)")
	f.StringVar(&s.publicURL, "public-url", "", "externally reachable base URL, for platform webhooks (METAGOV_PUBLIC_URL)")
	f.StringVar(&s.logFormat, "log-format", "text", "log format: text or json (METAGOV_LOG_FORMAT)")
	f.StringVar(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error (METAGOV_LOG_LEVEL)")
	f.StringVar(&s.webhookSecret, "webhook-secret", "", "whsec_ secret(s) signing deliveries; prefer the environment (METAGOV_WEBHOOK_SECRET)")
	f.StringVar(&s.egressAllow, "egress-allow", "",
		"CIDRs or addresses the gateway may reach although the egress policy refuses them (METAGOV_EGRESS_ALLOW, formerly METAGOV_DELIVERY_ALLOW)")
	f.StringVar(&s.deliveryAllow, "delivery-allow", "", "former name of --egress-allow")
	_ = f.MarkDeprecated("delivery-allow", "use --egress-allow")
	f.BoolVar(&s.egressDenyPrivate, "egress-deny-private", false,
		"refuse loopback and private destinations too; recommended for a hosted gateway (METAGOV_EGRESS_DENY_PRIVATE)")
	f.StringVar(&s.egressProxy, "egress-proxy", "",
		"proxy URL for every outbound request; HTTP(S)_PROXY are never used (METAGOV_EGRESS_PROXY)")
	f.DurationVar(&s.eventRetention, "event-retention", 30*24*time.Hour, "how long events are kept for pulling (METAGOV_EVENT_RETENTION)")
	f.StringVar(&s.secretKey, "secret-key", "",
		"base64 key(s) encrypting plugin secrets, the current first; prefer the environment (METAGOV_SECRET_KEY); default: a key file beside the database")
	f.DurationVar(&s.deliveryTimeout, "delivery-timeout", 15*time.Second,
		"how long one delivery attempt may take; a crashed gateway's deliveries are taken over after twice that plus 5 s (METAGOV_DELIVERY_TIMEOUT)")
	f.DurationVar(&s.jobRescueAfter, "job-rescue-after", 5*time.Minute,
		"how long a job may run before it is taken to have died with its process and is run again (METAGOV_JOB_RESCUE_AFTER)")

	root.AddCommand(
		&cobra.Command{
			Use:   "serve",
			Short: "Run the gateway: HTTP API, job workers and scheduler",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				logger, err := s.logger()
				if err != nil {
					return err
				}
				a, err := app.Open(cmd.Context(), s.appConfig(logger))
				if err != nil {
					return err
				}
				return a.Serve(cmd.Context())
			},
		},
		&cobra.Command{
			Use:   "migrate",
			Short: "Apply database migrations (serve also applies them at start)",
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
		},
		&cobra.Command{
			Use:   "webhook-secret",
			Short: "Print the secret(s) that sign deliveries, generating one if there is none",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := s.openStore(cmd)
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
		},
		s.secretsCommand(),
		s.apikeyCommand(),
		tallyCommand(),
		&cobra.Command{
			Use:   "openapi",
			Short: "Print the OpenAPI document",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				doc, err := apidoc.Build(plugin.List(), apidoc.Options{Version: version, ServerURL: s.publicURL})
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(append(doc, '\n'))
				return err
			},
		},
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), version)
			},
		},
	)
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
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		for _, name := range envNames[f.Name] {
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
		Addr:             s.addr,
		Database:         s.database,
		EventReceiverURL: s.eventReceiverURL,
		PublicURL:        strings.TrimSuffix(s.publicURL, "/"),
		Logger:           logger,
		Version:          version,
		WebhookSecret:    s.webhookSecret,
		DeliveryAllow:    s.deliveryAllow,
		EventRetention:   s.eventRetention,
		RescueAfter:      s.jobRescueAfter,
		SecretKey:        s.secretKey,
		DeliveryTimeout:  s.deliveryTimeout,

		EgressAllow:       s.egressAllow,
		EgressDenyPrivate: s.egressDenyPrivate,
		EgressProxy:       s.egressProxy,
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
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every plugin secret, and the stored webhook secret, with a new key",
		Long: "With a key file (the default), generates a new key, re-encrypts every secret and keeps only the new key.\n" +
			"With METAGOV_SECRET_KEY, put the new key first and the old one after it, run this, then drop the old one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := s.openStore(cmd)
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
	})
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
			fmt.Fprintln(cmd.OutOrStdout(), key)
			fmt.Fprintf(cmd.ErrOrStderr(), "created API key %d; it is shown only now\n", id)
			return nil
		},
	}
	create.Flags().StringArrayVar(&communities, "community", nil, "a community the key may reach (repeatable)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	cmd.AddCommand(create,
		&cobra.Command{
			Use:   "list",
			Short: "List keys (never the keys themselves)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := s.openStore(cmd)
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
		},
		&cobra.Command{
			Use:   "revoke ID",
			Short: "Revoke a key; it stops working within a second",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return fmt.Errorf("key id %q is not a number", args[0])
				}
				st, err := s.openStore(cmd)
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
		},
	)
	return cmd
}

// openStore opens and migrates the database, for the commands that work on
// it without serving.
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
