package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/metagov/metagov-go/client"
)

// The driver-side commands talk to a running gateway through the client
// package, as a driver would. Their settings, flags of each command group
// (so they go before or after the subcommand), fall back on the variables
// the example driver uses.
type driverSettings struct {
	server    string
	apiKey    string
	community string
	output    string
}

var driverEnv = map[string][]string{
	"server":    {"METAGOV_SERVER"},
	"api-key":   {"METAGOV_API_KEY"},
	"community": {"METAGOV_COMMUNITY"},
	"output":    {"METAGOV_OUTPUT"},
}

func (d *driverSettings) define(f *pflag.FlagSet) {
	f.StringVar(&d.server, "server", "http://127.0.0.1:8000", "the gateway's base URL (METAGOV_SERVER)")
	f.StringVar(&d.apiKey, "api-key", "", "API key, sent as a bearer token; prefer the environment (METAGOV_API_KEY)")
	f.StringVar(&d.community, "community", "", "the community to act for (METAGOV_COMMUNITY)")
	f.StringVar(&d.output, "output", "json", "output format: json or table (METAGOV_OUTPUT)")
}

// group makes a command group whose subcommands share the driver flags.
func (d *driverSettings) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	d.define(cmd.PersistentFlags())
	cmd.AddCommand(subs...)
	return cmd
}

// client builds the client from the flags and environment.
func (d *driverSettings) client(cmd *cobra.Command) (*client.Client, error) {
	if err := applyEnv(cmd.Flags(), driverEnv); err != nil {
		return nil, err
	}
	if d.output != "json" && d.output != "table" {
		return nil, fmt.Errorf("--output %q: want json or table", d.output)
	}
	return client.New(d.server, client.WithAPIKey(d.apiKey), client.WithCommunity(d.community))
}

// needCommunity fails early, and clearly, where the gateway needs a
// community header.
func (d *driverSettings) needCommunity() error {
	if d.community == "" {
		return errors.New("name the community with --community or METAGOV_COMMUNITY")
	}
	return nil
}

// print writes v as indented JSON, or as a table.
func (d *driverSettings) print(w io.Writer, v any) error {
	if d.output == "table" {
		return printTable(w, v)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printTable prints an object as FIELD VALUE rows, a list of objects as one
// row each with a column per field, and anything else as JSON.
func printTable(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cell := func(x any) string {
		switch x := x.(type) {
		case nil:
			return "-"
		case string:
			return x
		default:
			b, _ := json.Marshal(x)
			return string(b)
		}
	}
	switch g := generic.(type) {
	case map[string]any:
		for _, k := range sortedKeys(g) {
			fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(k), cell(g[k]))
		}
	case []any:
		var columns []string
		seen := map[string]bool{}
		for _, row := range g {
			if m, ok := row.(map[string]any); ok {
				for _, k := range sortedKeys(m) {
					if !seen[k] {
						seen[k] = true
						columns = append(columns, k)
					}
				}
			}
		}
		header := make([]string, len(columns))
		for i, c := range columns {
			header[i] = strings.ToUpper(c)
		}
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, row := range g {
			m, _ := row.(map[string]any)
			cells := make([]string, len(columns))
			for i, c := range columns {
				cells[i] = cell(m[c])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	default:
		fmt.Fprintln(tw, cell(g))
	}
	return tw.Flush()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseParams reads key=value arguments into an object. A value that is
// JSON (a number, true, null, ["a","b"], {"k":1}, "quoted") is taken as
// such; anything else is a string.
func parseParams(args []string) (map[string]any, error) {
	params := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value", a)
		}
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			params[k] = parsed
		} else {
			params[k] = v
		}
	}
	return params, nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q is not a positive number", s)
	}
	return id, nil
}

// driverCommands are the commands that talk to a running gateway.
func driverCommands() []*cobra.Command {
	d := &driverSettings{}
	return []*cobra.Command{d.communityCommand(), d.actionCommand(), d.processCommand(), d.eventsCommand(), d.deliveriesCommand(), d.identityCommand()}
}

func (d *driverSettings) communityCommand() *cobra.Command {
	var file string
	put := &cobra.Command{
		Use:   "put SLUG -f FILE",
		Short: "Create or replace a community from a JSON file (- for standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			var spec client.CommunitySpec
			dec := json.NewDecoder(in)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				return fmt.Errorf("reading %s: %w", file, err)
			}
			community, _, err := c.PutCommunity(cmd.Context(), args[0], spec)
			if err != nil {
				return err
			}
			return d.print(cmd.OutOrStdout(), community)
		},
	}
	put.Flags().StringVarP(&file, "file", "f", "", "the community as JSON: readable_name and plugins [{name, config}]")
	_ = put.MarkFlagRequired("file")
	return d.group("community", "Read, create or replace, and delete communities",
		&cobra.Command{
			Use:   "get SLUG",
			Short: "Print a community with its plugins",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := d.client(cmd)
				if err != nil {
					return err
				}
				community, err := c.GetCommunity(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return d.print(cmd.OutOrStdout(), community)
			},
		},
		put,
		&cobra.Command{
			Use:   "delete SLUG",
			Short: "Delete a community with its plugins and processes",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := d.client(cmd)
				if err != nil {
					return err
				}
				if err := c.DeleteCommunity(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "deleted community %s\n", args[0])
				return nil
			},
		},
	)
}

func (d *driverSettings) actionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "action PLUGIN.ACTION [key=value]...",
		Short: "Perform an action for the community and print its result",
		Long:  "Each key=value is a parameter; a value that is JSON (5, true, [\"a\",\"b\"]) is taken as such, anything else as a string.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			if err := d.needCommunity(); err != nil {
				return err
			}
			params, err := parseParams(args[1:])
			if err != nil {
				return err
			}
			out, err := c.Action(cmd.Context(), args[0], params)
			if err != nil {
				return err
			}
			return d.print(cmd.OutOrStdout(), out)
		},
	}
	d.define(cmd.Flags())
	return cmd
}

func (d *driverSettings) processCommand() *cobra.Command {
	var callbackURL string
	var interval time.Duration
	start := &cobra.Command{
		Use:   "start PLUGIN.PROCESS [key=value]...",
		Short: "Start a process for the community and print its record (with its id)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			if err := d.needCommunity(); err != nil {
				return err
			}
			params, err := parseParams(args[1:])
			if err != nil {
				return err
			}
			p, err := c.StartProcess(cmd.Context(), args[0], callbackURL, params)
			if err != nil {
				return err
			}
			return d.print(cmd.OutOrStdout(), p)
		},
	}
	start.Flags().StringVar(&callbackURL, "callback-url", "", "where the gateway POSTs the record on every change")
	record := func(use, short string, run func(ctx context.Context, c *client.Client, process string, id int64) (*client.Process, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " PLUGIN.PROCESS ID",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := d.client(cmd)
				if err != nil {
					return err
				}
				id, err := parseID(args[1])
				if err != nil {
					return err
				}
				p, err := run(cmd.Context(), c, args[0], id)
				if err != nil {
					return err
				}
				return d.print(cmd.OutOrStdout(), p)
			},
		}
	}
	watch := &cobra.Command{
		Use:   "watch PLUGIN.PROCESS ID",
		Short: "Print the process's record, then each change, until it completes",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			id, err := parseID(args[1])
			if err != nil {
				return err
			}
			var last int64
			for {
				p, err := c.GetProcess(cmd.Context(), args[0], id)
				if err != nil {
					return err
				}
				if p.Sequence > last {
					last = p.Sequence
					if err := d.print(cmd.OutOrStdout(), p); err != nil {
						return err
					}
				}
				if p.Completed() {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(interval):
				}
			}
		},
	}
	watch.Flags().DurationVar(&interval, "interval", time.Second, "how often to read the record")
	return d.group("process", "Start, read, close and watch governance processes",
		start,
		record("get", "Print a process's record", func(ctx context.Context, c *client.Client, process string, id int64) (*client.Process, error) {
			return c.GetProcess(ctx, process, id)
		}),
		record("close", "Close a process early and print its final record", func(ctx context.Context, c *client.Client, process string, id int64) (*client.Process, error) {
			return c.CloseProcess(ctx, process, id)
		}),
		watch,
	)
}

func (d *driverSettings) eventsCommand() *cobra.Command {
	var after int64
	var follow bool
	var interval time.Duration
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the events after a cursor, one JSON object a line; with --follow, then new ones as they come",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var tw *tabwriter.Writer
			if d.output == "table" {
				tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCOMMUNITY\tSOURCE\tEVENT_TYPE\tUSER\tDATA")
				_ = tw.Flush()
			}
			for {
				events, next, err := c.Events(cmd.Context(), client.EventFilter{Community: d.community, After: after, Limit: 1000})
				if err != nil {
					return err
				}
				for _, e := range events {
					if tw != nil {
						user := "-"
						if e.Initiator.UserID != nil {
							user = *e.Initiator.UserID
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Community, e.Source, e.EventType, user, e.Data)
						_ = tw.Flush()
						continue
					}
					line, err := json.Marshal(e)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "%s\n", line)
				}
				after = next
				if len(events) == 1000 {
					continue
				}
				if !follow {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	tail.Flags().Int64Var(&after, "after", 0, "print the events after this id")
	switchVar(tail.Flags(), &follow, "follow", "f", "keep printing new events until interrupted")
	tail.Flags().DurationVar(&interval, "interval", time.Second, "how often to ask for new events with --follow")
	return d.group("events", "Pull the events the gateway recorded", tail)
}

func (d *driverSettings) deliveriesCommand() *cobra.Command {
	var f client.DeliveryFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List callbacks and events sent to drivers, with their attempts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := d.client(cmd)
			if err != nil {
				return err
			}
			f.Community = d.community
			deliveries, next, err := c.Deliveries(cmd.Context(), f)
			if err != nil {
				return err
			}
			if d.output == "table" {
				rows := make([]map[string]any, len(deliveries))
				for i, x := range deliveries {
					rows[i] = map[string]any{"id": x.ID, "kind": x.Kind, "community": x.Community, "status": x.Status,
						"attempts": len(x.Attempts), "url": x.URL, "last_error": x.LastError}
				}
				return printTable(cmd.OutOrStdout(), rows)
			}
			return d.print(cmd.OutOrStdout(), map[string]any{"deliveries": deliveries, "next": next})
		},
	}
	list.Flags().StringVar(&f.Status, "status", "", "pending, succeeded or failed")
	list.Flags().StringVar(&f.Kind, "kind", "", "callback or event")
	list.Flags().Int64Var(&f.Process, "process", 0, "a process id")
	list.Flags().Int64Var(&f.After, "after", 0, "list the deliveries after this id")
	list.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (up to 1000)")
	return d.group("deliveries", "List deliveries and send them again", list,
		&cobra.Command{
			Use:   "redeliver ID",
			Short: "Send a delivery again, with the same webhook-id",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := d.client(cmd)
				if err != nil {
					return err
				}
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				delivery, err := c.Redeliver(cmd.Context(), id)
				if err != nil {
					return err
				}
				return d.print(cmd.OutOrStdout(), delivery)
			},
		},
	)
}

// identityCommand wraps the identity API. Its routes name the community in
// their parameters; the commands take it from --community.
func (d *driverSettings) identityCommand() *cobra.Command {
	// run makes a subcommand that builds the client, checks the community
	// when the route needs one, and prints what call returns.
	run := func(use, short string, args cobra.PositionalArgs, community bool, call func(ctx context.Context, c *client.Client, args []string) (any, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := d.client(cmd)
				if err != nil {
					return err
				}
				if community {
					if err := d.needCommunity(); err != nil {
						return err
					}
				}
				out, err := call(cmd.Context(), c, args)
				if err != nil {
					return err
				}
				return d.print(cmd.OutOrStdout(), out)
			},
		}
	}
	var count int
	create := run("create", "Create identities in the community and print their external ids", cobra.NoArgs, true,
		func(ctx context.Context, c *client.Client, _ []string) (any, error) {
			return c.CreateIDs(ctx, "", count)
		})
	create.Flags().IntVar(&count, "count", 1, "how many (1 to 1000)")

	merge := run("merge PRIMARY SECONDARY", "Merge the secondary identity's group into the primary's", cobra.ExactArgs(2), false,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			ids, err := parseIDs(args)
			if err != nil {
				return nil, err
			}
			return c.MergeIDs(ctx, ids[0], ids[1])
		})

	var link client.LinkAccountRequest
	var customData string
	linkCmd := run("link EXTERNAL_ID PLATFORM_TYPE PLATFORM_IDENTIFIER", "Link a platform account to an identity", cobra.ExactArgs(3), true,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			id, err := parseID(args[0])
			if err != nil {
				return nil, err
			}
			link.ExternalID, link.PlatformType, link.PlatformIdentifier = id, args[1], args[2]
			if customData != "" {
				if !json.Valid([]byte(customData)) {
					return nil, fmt.Errorf("--custom-data %q is not JSON", customData)
				}
				link.CustomData = json.RawMessage(customData)
			}
			return c.LinkAccount(ctx, link)
		})
	linkCmd.Flags().StringVar(&link.CommunityPlatformID, "community-platform-id", "", "which of the community's instances of the plugin")
	linkCmd.Flags().StringVar(&link.LinkType, "link-type", "", `oauth, "manual admin", "email matching" or unknown (the default)`)
	linkCmd.Flags().StringVar(&link.LinkQuality, "link-quality", "", `unknown (the default), unconfirmed, "confirmed (weak)" or "confirmed (strong)"`)
	linkCmd.Flags().StringVar(&customData, "custom-data", "", "a JSON object kept with the account")

	var unlinkCPID string
	unlink := run("unlink PLATFORM_TYPE PLATFORM_IDENTIFIER", "Remove a linked account", cobra.ExactArgs(2), true,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			err := c.UnlinkAccount(ctx, client.AccountRef{PlatformType: args[0], PlatformIdentifier: args[1], CommunityPlatformID: unlinkCPID})
			return err == nil, err
		})
	unlink.Flags().StringVar(&unlinkCPID, "community-platform-id", "", "which of the community's instances of the plugin")

	get := run("get EXTERNAL_ID", "Print an identity with the accounts of its group", cobra.ExactArgs(1), false,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			id, err := parseID(args[0])
			if err != nil {
				return nil, err
			}
			return c.GetUser(ctx, id)
		})

	var filter client.AccountFilter
	filterFlags := func(cmd *cobra.Command) *cobra.Command {
		f := cmd.Flags()
		f.StringVar(&filter.PlatformType, "platform-type", "", "accounts on this platform (a plugin name)")
		f.StringVar(&filter.CommunityPlatformID, "community-platform-id", "", "accounts of this instance of the plugin")
		f.StringVar(&filter.PlatformIdentifier, "platform-identifier", "", "the account with this identifier")
		f.StringVar(&filter.LinkType, "link-type", "", "accounts linked this way")
		f.StringVar(&filter.LinkQuality, "link-quality", "", "accounts of this quality")
		return cmd
	}
	list := filterFlags(run("list", "List the community's primary identities, those with a matching account when filtered", cobra.NoArgs, true,
		func(ctx context.Context, c *client.Client, _ []string) (any, error) {
			return c.GetUsers(ctx, filter)
		}))
	filterCmd := filterFlags(run("filter EXTERNAL_ID...", "Print those of the identities with an account of their own matching the filters", cobra.MinimumNArgs(1), true,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			ids, err := parseIDs(args)
			if err != nil {
				return nil, err
			}
			return c.FilterUsersByAccount(ctx, ids, filter)
		}))

	var accountCPID string
	account := run("account EXTERNAL_ID PLATFORM_TYPE", "Print the identity's own account on a platform, or null", cobra.ExactArgs(2), false,
		func(ctx context.Context, c *client.Client, args []string) (any, error) {
			id, err := parseID(args[0])
			if err != nil {
				return nil, err
			}
			return c.GetLinkedAccount(ctx, id, args[1], accountCPID)
		})
	account.Flags().StringVar(&accountCPID, "community-platform-id", "", "the account of this instance of the plugin (default: one without)")

	return d.group("identity", "Manage the community's identities and their linked platform accounts",
		create, merge, linkCmd, unlink, get, list, filterCmd, account)
}

func parseIDs(args []string) ([]int64, error) {
	ids := make([]int64, len(args))
	for i, a := range args {
		id, err := parseID(a)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}
