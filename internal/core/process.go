package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// StartRequest asks a community's plugin instance to start a process.
type StartRequest struct {
	Community  string
	PlatformID string
	Plugin     string
	Process    string
	// Body is the flat parameters object, with the optional callback_url.
	Body json.RawMessage
}

// HasProcess reports whether a plugin has a process type.
func (g *Gateway) HasProcess(pluginName, process string) bool {
	t, ok := g.types[pluginName]
	if !ok {
		return false
	}
	_, ok = t.processes[process]
	return ok
}

// StartProcess validates the parameters, records the process and runs the
// plugin's Start. If Start fails, the process is discarded.
func (g *Gateway) StartProcess(ctx context.Context, req StartRequest) (ProcessView, error) {
	typ, err := g.pluginType(req.Plugin)
	if err != nil {
		return ProcessView{}, err
	}
	pt, ok := typ.processes[req.Process]
	if !ok {
		return ProcessView{}, newError(KindNotFound, "unknown_process", "plugin %s has no process %s", req.Plugin, req.Process)
	}
	entry, err := g.community(ctx, req.Community)
	if err != nil {
		return ProcessView{}, err
	}
	in, err := entry.find(req.Plugin, req.PlatformID)
	if err != nil {
		return ProcessView{}, err
	}
	callbackURL, params, err := g.splitCallbackURL(req.Body)
	if err != nil {
		return ProcessView{}, err
	}
	input, err := validateParams(pt.input, params, true)
	if err != nil {
		return ProcessView{}, err
	}
	v, err := in.ready()
	if err != nil {
		return ProcessView{}, err
	}
	id, err := g.ids.take(ctx, g.store)
	if err != nil {
		return ProcessView{}, err
	}
	row := store.Process{
		ID: id, CommunityID: entry.community.ID, InstanceID: in.row.ID, Plugin: req.Plugin, Name: req.Process,
		Status: string(plugin.StatusCreated), Input: input, Outcome: json.RawMessage(`{}`), Errors: json.RawMessage(`{}`),
		State: json.RawMessage(`{}`), CallbackURL: callbackURL,
	}
	proc, err := newProcessHandle(row)
	if err != nil {
		return ProcessView{}, err
	}
	// Nobody knows the id before the answer, so no lock is needed; if Start
	// fails, nothing was written.
	call := g.newCall(in)
	if err := pt.pt.New(v).Start(ctx, call, proc); err != nil {
		return ProcessView{}, fromPlugin(in.row.Name, err)
	}
	if proc.Status() == plugin.StatusCreated {
		proc.SetStatus(plugin.StatusPending)
	}
	written, err := g.commit(ctx, &unit{community: entry, inst: in, call: call, proc: proc, stored: row, isNew: true,
		auditAction: "process.start"})
	if err != nil {
		return ProcessView{}, err
	}
	return processView(written, entry.community.Slug), nil
}

// MaxCallbackURLLength bounds a process's callback_url, in bytes: it is
// stored with the process and sent with every callback, so a caller may not
// make it arbitrarily large. 2,048 is what browsers and proxies commonly
// accept, ample for a driver's receiver URL with an id or token in it.
const MaxCallbackURLLength = 2048

// splitCallbackURL takes the optional callback_url out of a start body.
func (g *Gateway) splitCallbackURL(body json.RawMessage) (string, json.RawMessage, error) {
	if len(body) == 0 {
		return "", nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", nil, &Error{Kind: KindInvalid, Code: "invalid_json", Detail: "the body must be a JSON object: " + err.Error()}
	}
	raw, ok := fields["callback_url"]
	if !ok {
		return "", body, nil
	}
	delete(fields, "callback_url")
	params, err := json.Marshal(fields)
	if err != nil {
		return "", nil, fmt.Errorf("encoding parameters: %w", err)
	}
	var cb *string
	if err := json.Unmarshal(raw, &cb); err != nil {
		return "", nil, &Error{Kind: KindInvalid, Code: "invalid_callback_url", Field: "/callback_url", Detail: "callback_url must be a string"}
	}
	if cb == nil || *cb == "" {
		return "", params, nil
	}
	if len(*cb) > MaxCallbackURLLength {
		return "", nil, &Error{Kind: KindInvalid, Code: "invalid_callback_url", Field: "/callback_url",
			Detail: fmt.Sprintf("callback_url is %d bytes long; the limit is %d", len(*cb), MaxCallbackURLLength)}
	}
	if err := g.cfg.Egress.CheckURL(*cb); err != nil {
		return "", nil, &Error{Kind: KindInvalid, Code: "invalid_callback_url", Field: "/callback_url",
			Detail: "callback_url must be an absolute http or https URL the gateway may call: " + err.Error()}
	}
	return *cb, params, nil
}

// GetProcess returns a process record. The plugin and process names must
// match the process's type.
func (g *Gateway) GetProcess(ctx context.Context, pluginName, name string, id int64) (ProcessView, error) {
	row, entry, err := g.loadProcessCached(ctx, pluginName, name, id, true)
	if err != nil {
		return ProcessView{}, err
	}
	return processView(row, entry.community.Slug), nil
}

// ExportProcess returns a process record with the fields its plugin exports
// (a vote's rules and ballots), for GET ?include=ballots.
func (g *Gateway) ExportProcess(ctx context.Context, pluginName, name string, id int64) (json.RawMessage, error) {
	row, entry, err := g.loadProcess(ctx, pluginName, name, id)
	if err != nil {
		return nil, err
	}
	record, err := json.Marshal(processView(row, entry.community.Slug))
	if err != nil {
		return nil, err
	}
	_, in, handler, err := g.processContext(ctx, row)
	if err != nil {
		return nil, err
	}
	exporter, ok := handler.(plugin.ProcessExporter)
	if !ok {
		return nil, newError(KindInvalid, "include_not_supported", "%s.%s processes have nothing more to include", pluginName, name)
	}
	proc, err := newProcessHandle(row)
	if err != nil {
		return nil, err
	}
	extra, err := exporter.Export(ctx, g.newCall(in), proc)
	if err != nil {
		return nil, fromPlugin(pluginName, err)
	}
	fields := map[string]json.RawMessage{}
	raw, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("encoding the export of process %d: %w", id, err)
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("the export of process %d is not a JSON object: %w", id, err)
	}
	if err := json.Unmarshal(record, &fields); err != nil { // the record's own fields win
		return nil, err
	}
	return json.Marshal(fields)
}

func (g *Gateway) loadProcess(ctx context.Context, pluginName, name string, id int64) (store.Process, *communityEntry, error) {
	return g.loadProcessCached(ctx, pluginName, name, id, false)
}

// loadProcessCached is loadProcess, from the process cache if cached is set
// (the record then lacks input, state and callback URL).
func (g *Gateway) loadProcessCached(ctx context.Context, pluginName, name string, id int64, cached bool) (store.Process, *communityEntry, error) {
	var row store.Process
	var err error
	hit := false
	if cached {
		row, hit = g.procs.get(id)
	}
	if !hit {
		var version uint64
		started := time.Now()
		if cached {
			version = g.procs.version(id)
		}
		row, err = g.store.ProcessGetByID(ctx, id)
		if err == nil && cached {
			g.procs.put(row, version, started)
		}
	}
	if isNotFound(err) || (err == nil && (row.Plugin != pluginName || row.Name != name)) {
		return row, nil, newError(KindNotFound, CodeProcessNotFound, "no %s.%s process with id %d", pluginName, name, id)
	}
	if err != nil {
		return row, nil, err
	}
	entry, err := g.communityByID(ctx, row.CommunityID)
	if err != nil {
		if errors.Is(err, errCommunityNotFound) {
			return row, nil, newError(KindNotFound, CodeProcessNotFound, "no %s.%s process with id %d", pluginName, name, id)
		}
		return row, nil, err
	}
	return row, entry, nil
}

// CloseProcess closes a process early through its plugin and returns the
// final record.
func (g *Gateway) CloseProcess(ctx context.Context, pluginName, name string, id int64) (ProcessView, error) {
	if _, _, err := g.loadProcess(ctx, pluginName, name, id); err != nil {
		return ProcessView{}, err
	}
	row, entry, err := g.step(ctx, id, "process.close", func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error {
		if p.Status() == plugin.StatusCompleted {
			return newError(KindConflict, "process_completed", "Can't close process, it has already completed")
		}
		closer, ok := h.(plugin.ProcessCloser)
		if !ok {
			return newError(KindMethodNotAllowed, "close_not_supported",
				"%s.%s does not support manually closing the process", pluginName, name)
		}
		if err := closer.Close(ctx, c, p); err != nil {
			return err
		}
		if p.Status() != plugin.StatusCompleted {
			return fmt.Errorf("plugin %s closed process %d without completing it", pluginName, id)
		}
		return nil
	})
	if err != nil {
		return ProcessView{}, err
	}
	return processView(row, entry.community.Slug), nil
}

// WakeProcess runs the Wake of a pending process whose timer fell due.
func (g *Gateway) WakeProcess(ctx context.Context, id int64) error {
	_, _, err := g.step(ctx, id, "", func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error {
		waker, ok := h.(plugin.ProcessWaker)
		if !ok || p.Status() != plugin.StatusPending {
			return nil
		}
		return waker.Wake(ctx, c, p)
	})
	return ignoreGone(err)
}

// PollProcess runs the Poll of a pending process.
func (g *Gateway) PollProcess(ctx context.Context, id int64) error {
	_, _, err := g.step(ctx, id, "", func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error {
		poller, ok := h.(plugin.ProcessPoller)
		if !ok || p.Status() != plugin.StatusPending {
			return nil
		}
		return poller.Poll(ctx, c, p)
	})
	return ignoreGone(err)
}

// ignoreGone treats a process or instance that disappeared as done: a timer
// or poll for it has nothing left to do.
func ignoreGone(err error) error {
	if errors.Is(err, errProcessNotFound) || errors.Is(err, errInstanceGone) {
		return nil
	}
	return err
}

type stepFunc func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error

// stepAttempts bounds how often step runs an invocation whose process
// another gateway process changed first. Each gateway process runs one
// invocation per process at a time, so every retry here is one that lost to
// an invocation that committed: retries cannot add up beyond one per other
// gateway process, and a cast that keeps losing a fair race 64 times in a
// row does not happen.
const stepAttempts = 64

// step runs one invocation on an existing process under its lock and commits
// it. The lock serialises invocations within this gateway process; other
// gateway processes on the same PostgreSQL database are caught by the
// commit's compare-and-set, and then the invocation runs again on the
// process as it now is, so that a driver's concurrent calls through several
// gateways are not refused. The SDK says handlers may run again so (see
// plugin.ProcessHandler).
func (g *Gateway) step(ctx context.Context, id int64, auditAction string, fn stepFunc) (store.Process, *communityEntry, error) {
	defer g.lockProcess(id)()
	for attempt := 1; ; attempt++ {
		row, entry, err := g.stepOnce(ctx, id, auditAction, fn)
		if !errors.Is(err, errProcessChanged) || attempt == stepAttempts {
			return row, entry, err
		}
		// A pause of up to half a millisecond breaks a lockstep with the
		// other gateway without handing it the next round.
		select {
		case <-ctx.Done():
			return row, entry, err
		case <-time.After(time.Duration(rand.Int64N(int64(500 * time.Microsecond)))):
		}
	}
}

// stepOnce is one attempt of step.
func (g *Gateway) stepOnce(ctx context.Context, id int64, auditAction string, fn stepFunc) (store.Process, *communityEntry, error) {
	row, err := g.store.ProcessGetByID(ctx, id)
	if isNotFound(err) {
		return row, nil, newError(KindNotFound, CodeProcessNotFound, "no process with id %d", id)
	}
	if err != nil {
		return row, nil, err
	}
	entry, in, handler, err := g.processContext(ctx, row)
	if err != nil {
		return row, nil, err
	}
	proc, err := newProcessHandle(row)
	if err != nil {
		return row, nil, err
	}
	call := g.newCall(in)
	if err := fn(ctx, handler, call, proc); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return row, nil, err
		}
		return row, nil, fromPlugin(row.Plugin, err)
	}
	written, err := g.commit(ctx, &unit{community: entry, inst: in, call: call, proc: proc, stored: row, auditAction: auditAction})
	return written, entry, err
}

// processContext finds the community, instance and handler of a process.
func (g *Gateway) processContext(ctx context.Context, row store.Process) (*communityEntry, *instance, plugin.ProcessHandler, error) {
	gone := newError(KindConflict, CodeInstanceGone, "the plugin instance of process %d was removed", row.ID)
	entry, err := g.communityByID(ctx, row.CommunityID)
	if err != nil {
		return nil, nil, nil, err
	}
	var in *instance
	for _, candidate := range entry.instances {
		if candidate.row.ID == row.InstanceID {
			in = candidate
		}
	}
	if in == nil {
		return nil, nil, nil, gone
	}
	pt, ok := in.typ.processes[row.Name]
	if !ok {
		return nil, nil, nil, fmt.Errorf("process %d has type %s.%s, which this build does not have", row.ID, row.Plugin, row.Name)
	}
	v, err := in.ready()
	if err != nil {
		return nil, nil, nil, err
	}
	return entry, in, pt.pt.New(v), nil
}

func newProcessHandle(row store.Process) (*plugin.Process, error) {
	state := map[string]json.RawMessage{}
	if len(row.State) > 0 {
		if err := json.Unmarshal(row.State, &state); err != nil {
			return nil, fmt.Errorf("decoding state of process %d: %w", row.ID, err)
		}
	}
	return pluginrt.NewProcess(pluginrt.ProcessRecord{
		ID: row.ID, Name: row.Name, Input: row.Input, Status: plugin.Status(row.Status),
		Outcome: row.Outcome, Errors: row.Errors, URL: row.URL, State: state,
	}), nil
}
