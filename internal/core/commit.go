package core

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/requestid"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// unit is one plugin invocation waiting to be committed.
type unit struct {
	community *communityEntry
	inst      *instance
	call      *plugin.Call
	// proc and stored are set for process invocations: the handle the
	// plugin changed and the row it was built from.
	proc   *plugin.Process
	stored store.Process
	// isNew is set when the process is being started: it is inserted, not
	// updated.
	isNew bool
	// auditAction, when set, records the invocation as a driver's change.
	auditAction string
}

// newCall starts a unit of work on an instance; state reads go to the store.
func (g *Gateway) newCall(in *instance) *plugin.Call {
	id := in.row.ID
	call := pluginrt.NewCall(func(ctx context.Context, key string) (json.RawMessage, bool, error) {
		v, err := g.store.PluginStateGetAt(ctx, id, key, g.now())
		if err != nil {
			if isNotFound(err) {
				return nil, false, nil
			}
			return nil, false, err
		}
		return v, true, nil
	}, func(ctx context.Context, prefix string) (map[string]json.RawMessage, error) {
		return g.store.PluginStateList(ctx, id, prefix, g.now())
	}, g.cfg.Now)
	call = pluginrt.WithScanner(call, func(ctx context.Context, prefix string, fn func(string, json.RawMessage) error) error {
		return g.store.PluginStateScan(ctx, id, prefix, g.now(), fn)
	})
	return pluginrt.WithFloor(call, func(ctx context.Context, prefix, key string, inclusive bool) (string, json.RawMessage, bool, error) {
		return g.store.PluginStateFloor(ctx, id, prefix, key, inclusive, g.now())
	})
}

// putState writes an invocation's state changes to an instance. When it set
// values that expire, the instance's expired values go in the same
// transaction, so such state stays as small as the time it is kept for
// (the hourly prune catches instances that stopped writing).
func (g *Gateway) putState(ctx context.Context, tx *store.Tx, instanceID int64, changes pluginrt.CallChanges) error {
	for key, value := range changes.State {
		if err := tx.PluginStatePutUntil(ctx, instanceID, key, value, changes.Expires[key]); err != nil {
			return err
		}
	}
	if len(changes.Expires) > 0 {
		if _, err := tx.PluginStateDeleteExpired(ctx, instanceID, g.now()); err != nil {
			return err
		}
	}
	return nil
}

// commit writes what an invocation changed, and the deliveries and timers
// it causes, in one transaction. It returns the process row as written.
func (g *Gateway) commit(ctx context.Context, u *unit) (store.Process, error) {
	changes := pluginrt.Changes(u.call)
	for _, w := range changes.Warnings {
		g.log.WarnContext(ctx, "plugin warning", slog.String("plugin", u.inst.row.Name), slog.String("community", u.inst.slug), slog.String("warning", w))
	}
	var pc pluginrt.ProcessChanges
	if u.proc != nil {
		pc = pluginrt.ProcessChangesOf(u.proc)
	}
	written := u.stored
	if !u.isNew && u.auditAction == "" && len(changes.State) == 0 && len(changes.Events) == 0 && len(changes.Links) == 0 &&
		!pc.Changed && !pc.StateChanged && len(pc.Wakes) == 0 {
		return written, nil
	}
	if u.proc != nil && !u.isNew {
		// Whether it commits or finds the process changed by another
		// gateway process, the cached record is out of date.
		defer g.procs.invalidate(u.stored.ID)
	}
	write := g.writeTx
	if u.isNew && len(changes.Links) == 0 && len(changes.Events) == 0 && len(changes.Expires) == 0 && !notifies(u, pc) {
		// A start that only inserts (the process, its timers, its state,
		// the audit entry) needs no answer before it commits: on
		// PostgreSQL that is one round trip instead of one per statement
		// plus BEGIN and COMMIT. Links read accounts, events and callbacks
		// take their ids from the insert, and dropping expired state
		// counts rows, so those go through an ordinary transaction.
		write = g.writeBatch
	}
	err := write(ctx, func(tx *store.Tx) error {
		if err := g.putState(ctx, tx, u.inst.row.ID, changes); err != nil {
			return err
		}
		if err := g.linkAccounts(ctx, tx, u.community.community, u.inst.row.Name, u.inst.row.PlatformID, changes.Links); err != nil {
			return err
		}
		if pc.Changed || pc.StateChanged || u.isNew {
			var err error
			if written, err = g.writeProcess(ctx, tx, u, pc); err != nil {
				return err
			}
		}
		for _, at := range pc.Wakes {
			if err := tx.TimerInsert(ctx, u.stored.ID, at); err != nil {
				return err
			}
		}
		for _, e := range changes.Events {
			if err := g.insertEvent(ctx, tx, u.community.community, u.inst.row.Name, e); err != nil {
				return err
			}
		}
		if u.auditAction != "" {
			detail := map[string]any{"process": u.stored.Plugin + "." + u.stored.Name, "id": u.stored.ID, "status": written.Status}
			return g.audit(ctx, tx, u.community.community, u.auditAction, detail)
		}
		return nil
	})
	if err != nil {
		return u.stored, err
	}
	return written, nil
}

// writeProcess stores a started process, or a process's changes with a
// compare-and-set on its sequence, and queues the callback they call for.
func (g *Gateway) writeProcess(ctx context.Context, tx *store.Tx, u *unit, pc pluginrt.ProcessChanges) (store.Process, error) {
	rec := pc.Record
	p := u.stored
	state, err := json.Marshal(rec.State)
	if err != nil {
		return p, fmt.Errorf("encoding state of process %d: %w", p.ID, err)
	}
	p.Status, p.Outcome, p.Errors, p.URL, p.State =
		string(rec.Status), orEmptyObject(rec.Outcome), orEmptyObject(rec.Errors), rec.URL, state
	if u.isNew {
		p.Sequence = 1
		err = tx.ProcessInsert(ctx, &p)
	} else {
		p.Sequence, err = tx.ProcessUpdate(ctx, &store.ProcessUpdateParams{
			ID: p.ID, OldSequence: u.stored.Sequence, Status: p.Status, Outcome: p.Outcome, Errors: p.Errors,
			URL: p.URL, State: p.State,
		})
	}
	if isConflict(err) {
		return p, newError(KindConflict, CodeProcessChanged, "process %d was changed concurrently; try again", p.ID)
	}
	if err != nil {
		return p, err
	}
	if !notifies(u, pc) {
		return p, nil
	}
	payload, err := json.Marshal(processView(p, u.community.community.Slug))
	if err != nil {
		return p, fmt.Errorf("encoding callback of process %d: %w", p.ID, err)
	}
	return p, g.enqueueCallback(ctx, tx, &store.DeliveryInsertParams{
		CommunityID: p.CommunityID,
		Kind:        store.DeliveryCallback,
		ProcessID:   p.ID,
		URL:         p.CallbackURL,
		Payload:     payload,
	})
}

// notifies reports whether the invocation's process changes call for a
// callback to the driver. The driver learns of a new process from the 202
// answer, so starting one is not news unless it completed at once.
func notifies(u *unit, pc pluginrt.ProcessChanges) bool {
	if u.proc == nil || u.stored.CallbackURL == "" {
		return false
	}
	if u.isNew {
		return pc.Record.Status == plugin.StatusCompleted
	}
	return pc.Changed
}

// enqueueCallback queues a process's callback, coalesced: the record
// replaces the process's callback still waiting to be sent, if any, so a
// driver slower than the changes gets the latest record next rather than
// every one in between (each carries its sequence). The final record is
// always sent, since it replaces only what has not gone out.
func (g *Gateway) enqueueCallback(ctx context.Context, tx *store.Tx, p *store.DeliveryInsertParams) error {
	p.MessageID = newMessageID()
	p.RequestID = requestid.From(ctx)
	p.At = g.now()
	replaced, err := tx.DeliveryReplaceQueued(ctx, p.At, p) // leases go by the dispatcher's clock, the same
	if err != nil || replaced {
		return err
	}
	_, err = tx.DeliveryInsert(ctx, p)
	return err
}

// insertEvent stores an event and, when the driver has an event receiver,
// queues its delivery.
func (g *Gateway) insertEvent(ctx context.Context, tx *store.Tx, c store.Community, source string, e pluginrt.EmittedEvent) error {
	var initiator json.RawMessage
	if e.Initiator != nil {
		var err error
		if initiator, err = json.Marshal(e.Initiator); err != nil {
			return fmt.Errorf("encoding initiator of event %q: %w", e.Type, err)
		}
	}
	if !storableText(e.Type) {
		return &Error{Kind: KindInvalid, Code: "invalid_event", Field: "",
			Detail: "the event type holds text the gateway cannot store (invalid UTF-8 or a NUL character)"}
	}
	if field, ok := storableJSON(e.Data); !ok {
		return &Error{Kind: KindInvalid, Code: "invalid_event", Field: field,
			Detail: "the event data holds text the gateway cannot store (invalid UTF-8, a lone surrogate or a NUL character)"}
	}
	at := g.now()
	id, err := tx.EventInsert(ctx, &store.EventInsertParams{
		CommunityID: c.ID, Source: source, Type: e.Type, Data: orEmptyObject(e.Data), Initiator: initiator, CreatedAt: at,
	})
	if err != nil {
		return err
	}
	if g.cfg.EventReceiverURL == "" {
		return nil
	}
	payload, err := newEventEnvelope(id, c.Slug, source, e.Type, at, e.Data, initiator)
	if err != nil {
		return fmt.Errorf("encoding event %q: %w", e.Type, err)
	}
	return g.enqueueDelivery(ctx, tx, &store.DeliveryInsertParams{
		CommunityID: c.ID, Kind: store.DeliveryEvent, EventID: id, URL: g.cfg.EventReceiverURL, Payload: payload,
	})
}

// enqueueDelivery writes a delivery to the outbox inside tx; the dispatcher
// sends it once tx commits (see DeliveryWake).
func (g *Gateway) enqueueDelivery(ctx context.Context, tx *store.Tx, p *store.DeliveryInsertParams) error {
	p.MessageID = newMessageID()
	p.RequestID = requestid.From(ctx)
	p.At = g.now()
	_, err := tx.DeliveryInsert(ctx, p)
	return err
}

// newMessageID returns a unique webhook-id for a delivery, in the form
// Standard Webhooks suggests.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "msg_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
