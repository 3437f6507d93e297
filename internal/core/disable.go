package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// disableTimeout bounds a plugin's Disable. The removal is committed
// before it runs, so waiting longer would only hold the caller's answer
// for a platform that is not answering; what Disable leaves undone is
// reported as a warning.
const disableTimeout = 15 * time.Second

// disabling is an instance being removed whose plugin implements
// plugin.Disabler: its value, provisioned with its config, and its state,
// read in the removal's transaction just before the instance and its state
// are deleted.
type disabling struct {
	id    int64
	name  string
	slug  string
	d     plugin.Disabler
	state map[string]json.RawMessage
	// err is why the plugin cannot be asked (its instance could not be
	// provisioned), reported as a warning once the removal is committed.
	err error
}

// disablers finds, before rows are removed, those whose plugin implements
// plugin.Disabler, with their provisioned values. An instance that cannot be
// provisioned (a config this build can no longer read) cannot be asked;
// that does not stop the removal, and becomes a warning.
func (g *Gateway) disablers(ctx context.Context, rows []store.PluginInstance) []*disabling {
	var out []*disabling
	for _, row := range rows {
		typ, ok := g.types[row.Name]
		if !ok {
			continue
		}
		if _, ok := typ.info.New().(plugin.Disabler); !ok {
			continue
		}
		entry, err := g.communityByID(ctx, row.CommunityID)
		if err != nil {
			out = append(out, &disabling{id: row.ID, name: row.Name, err: err})
			continue
		}
		for _, in := range entry.instances {
			if in.row.ID != row.ID {
				continue
			}
			v, err := in.ready()
			if err != nil {
				out = append(out, &disabling{id: row.ID, name: row.Name, slug: in.slug, err: err})
				break
			}
			if d, ok := v.(plugin.Disabler); ok {
				out = append(out, &disabling{id: row.ID, name: row.Name, slug: in.slug, d: d})
			}
		}
	}
	return out
}

// snapshot reads, in the removal's transaction, the state of the instances
// about to be deleted, for their Disable.
func (g *Gateway) snapshot(ctx context.Context, tx *store.Tx, ds []*disabling) error {
	for _, d := range ds {
		if d.d == nil {
			continue
		}
		state, err := tx.PluginStateList(ctx, d.id, "", g.now())
		if err != nil {
			return err
		}
		d.state = state
	}
	return nil
}

// runDisablers calls Disable on instances whose removal committed, each
// with disableTimeout and whatever the caller does meanwhile, and returns
// the warnings for the caller: each failure, and each notice Disable gave
// with Call.Warn, naming the instance. Nothing they change is kept.
//
// They run at once: each may wait up to disableTimeout on its platform,
// and removing a community with several should not take that once per
// instance. The warnings keep the instances' order.
func (g *Gateway) runDisablers(ctx context.Context, ds []*disabling) []string {
	results := make([][]string, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { results[i] = g.runDisabler(ctx, d) })
	}
	wg.Wait()
	return slices.Concat(results...)
}

func (g *Gateway) runDisabler(ctx context.Context, d *disabling) (warnings []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disableTimeout)
	defer cancel()
	log := g.log.With(slog.String("plugin", d.name), slog.String("community", d.slug), slog.Int64("instance_id", d.id))
	label := fmt.Sprintf("%s (instance %d)", d.name, d.id)
	if d.err != nil {
		log.WarnContext(ctx, "the plugin could not be asked to undo its setup on the platform; the instance is removed anyway", slog.Any("error", d.err))
		return []string{fmt.Sprintf("%s was removed, but its plugin could not be asked to undo its setup on the platform "+
			"(such as a webhook it registered): %s", label, disableMessage(d.name, d.err))}
	}
	call := pluginrt.NewCallOver(d.state, g.cfg.Now)
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return d.d.Disable(ctx, call)
	}()
	for _, w := range pluginrt.Changes(call).Warnings {
		log.WarnContext(ctx, "plugin warning while disabling", slog.String("warning", w))
		warnings = append(warnings, label+": "+w)
	}
	if err != nil {
		log.WarnContext(ctx, "disabling on the platform failed; the instance is removed anyway", slog.Any("error", err))
		warnings = append(warnings, fmt.Sprintf("%s was removed, but undoing its setup on the platform failed: %s", label, disableMessage(d.name, err)))
	}
	return warnings
}

// disableMessage says why Disable failed as the API says a plugin's errors
// (a platform's message, a timeout), without the text of an internal error,
// which only the log gets.
func disableMessage(name string, err error) string {
	var e *Error
	if errors.As(fromPlugin(name, err), &e) && e.Detail != "" {
		return e.Detail
	}
	return "an internal error (the gateway's log has it)"
}
