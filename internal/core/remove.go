package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// removedErrorKey is the key of the error a forced removal puts on the
// processes it could not close.
const removedErrorKey = "plugin_removed"

// closeForRemoval closes, through their plugin, the processes of an
// instance that is about to be removed by force. A process whose plugin
// cannot close it, or fails to, is left for removeInstance, which completes
// it with an error; so nothing here stops the removal. It runs before the
// removal's transaction, since Close may call the platform; a process it
// closed stays closed even if the removal then fails.
func (g *Gateway) closeForRemoval(ctx context.Context, row store.PluginInstance) error {
	open, err := g.store.ProcessListOpenByInstance(ctx, row.ID)
	if err != nil {
		return err
	}
	for _, p := range open {
		_, _, err := g.step(ctx, p.ID, "process.close", func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, proc *plugin.Process) error {
			closer, ok := h.(plugin.ProcessCloser)
			if !ok || proc.Status() == plugin.StatusCompleted {
				return errNotClosable
			}
			if err := closer.Close(ctx, c, proc); err != nil {
				return err
			}
			if proc.Status() != plugin.StatusCompleted {
				return fmt.Errorf("plugin %s closed process %d without completing it", p.Plugin, p.ID)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errNotClosable) {
			g.log.WarnContext(ctx, "closing a process of a plugin being removed failed; it completes with an error",
				slog.Int64("process", p.ID), slog.String("plugin", p.Plugin), slog.Any("error", err))
		}
	}
	return nil
}

// errNotClosable marks a process closeForRemoval leaves alone.
var errNotClosable = errors.New("process cannot be closed")

// removeInstance deletes an instance in tx. Without force it refuses while
// the instance has processes that have not completed, naming them: they
// would never reach their driver. With force it completes them with an
// error saying the plugin was removed, their callbacks queued in the same
// transaction, and then deletes the instance; the processes stay readable.
func (g *Gateway) removeInstance(ctx context.Context, tx *store.Tx, c store.Community, row store.PluginInstance, force bool) error {
	open, err := tx.ProcessListOpenByInstance(ctx, row.ID)
	if err != nil {
		return err
	}
	if len(open) > 0 && !force {
		names := make([]string, 0, len(open))
		for _, p := range open {
			names = append(names, p.Plugin+"."+p.Name+"/"+strconv.FormatInt(p.ID, 10))
		}
		return newError(KindConflict, "pending_processes",
			"plugin %s has processes that have not completed: %s; close them first, or remove the plugin with force=true",
			row.Name, strings.Join(names, ", "))
	}
	for _, p := range open {
		if err := g.completeRemoved(ctx, tx, c, p); err != nil {
			return err
		}
	}
	err = tx.PluginInstanceDelete(ctx, row.ID)
	if isNotFound(err) { // a concurrent request removed it first
		return newError(KindNotFound, "plugin_not_found", "no %s plugin with id %d", row.Name, row.ID)
	}
	return err
}

// completeRemoved completes a process whose plugin is being removed, with
// an error that says so, and queues its callback.
func (g *Gateway) completeRemoved(ctx context.Context, tx *store.Tx, c store.Community, p store.Process) error {
	errs := map[string]json.RawMessage{}
	if err := json.Unmarshal(orEmptyObject(p.Errors), &errs); err != nil {
		return fmt.Errorf("reading errors of process %d: %w", p.ID, err)
	}
	errs[removedErrorKey] = mustJSON(fmt.Sprintf("the %s plugin was removed from the community before the process completed; "+
		"the outcome is what was known then", p.Plugin))
	p.Errors = mustJSON(errs)
	p.Status = string(plugin.StatusCompleted)
	seq, err := tx.ProcessUpdate(ctx, &store.ProcessUpdateParams{
		ID: p.ID, OldSequence: p.Sequence, Status: p.Status, Outcome: orEmptyObject(p.Outcome), Errors: p.Errors,
		URL: p.URL, State: p.State,
	})
	if isConflict(err) {
		return newError(KindConflict, CodeProcessChanged, "process %d was changed concurrently; try again", p.ID)
	}
	if err != nil {
		return err
	}
	p.Sequence = seq
	if err := g.audit(ctx, tx, c, "process.complete_removed", map[string]any{"process": p.Plugin + "." + p.Name, "id": p.ID}); err != nil {
		return err
	}
	if p.CallbackURL == "" {
		return nil
	}
	payload, err := json.Marshal(processView(p, c.Slug))
	if err != nil {
		return fmt.Errorf("encoding callback of process %d: %w", p.ID, err)
	}
	return g.enqueueDelivery(ctx, tx, &store.DeliveryInsertParams{
		CommunityID: p.CommunityID, Kind: store.DeliveryCallback, ProcessID: p.ID, URL: p.CallbackURL, Payload: payload,
	})
}
