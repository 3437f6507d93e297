package core

import (
	"context"

	"encoding/json"
	"fmt"
	"github.com/metagov/metagov-go/plugin"
	"log/slog"
	"time"
)

// ActionRequest asks a community's plugin instance to perform an action.
type ActionRequest struct {
	Community string
	// PlatformID chooses among several instances of the plugin; optional.
	PlatformID string
	Plugin     string
	Action     string
	// Parameters is the "parameters" object of the request; nil means {}.
	Parameters json.RawMessage
	// Public is set for the public route, which serves public actions only.
	Public bool
}

// HasAction reports whether a plugin has an action, and whether it is
// public, so routes can answer 404 before anything else.
func (g *Gateway) HasAction(pluginName, action string) (exists, public bool) {
	t, ok := g.types[pluginName]
	if !ok {
		return false, false
	}
	a, ok := t.actions[action]
	if !ok {
		return false, false
	}
	return true, a.action.Public
}

// PerformAction validates the parameters, runs the action, checks its result
// against the output schema, commits what it changed and returns the result.
func (g *Gateway) PerformAction(ctx context.Context, req ActionRequest) (json.RawMessage, error) {
	typ, err := g.pluginType(req.Plugin)
	if err != nil {
		return nil, err
	}
	at, ok := typ.actions[req.Action]
	if !ok || (req.Public && !at.action.Public) {
		return nil, newError(KindNotFound, "unknown_action", "plugin %s has no action %s", req.Plugin, req.Action)
	}
	entry, err := g.community(ctx, req.Community)
	if err != nil {
		return nil, err
	}
	in, err := entry.find(req.Plugin, req.PlatformID)
	if err != nil {
		return nil, err
	}
	params, err := validateParams(at.input, req.Parameters, false)
	if err != nil {
		return nil, err
	}
	v, err := in.ready()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var out json.RawMessage
	// The result is checked before anything commits: an action that breaks
	// its own contract changes nothing.
	encode := func(result any) error {
		var err error
		out, err = g.checkOutput(ctx, req, at, result)
		return err
	}
	if at.action.RunProcess != nil {
		err = g.runOnProcess(ctx, in, v, at.action, params, encode)
	} else {
		call := g.newCall(in)
		var result any
		if result, err = at.action.Run(ctx, v, call, params); err == nil {
			if err = encode(result); err == nil {
				_, err = g.commit(ctx, &unit{community: entry, inst: in, call: call})
			}
		}
	}
	if err != nil {
		err = fromPlugin(req.Plugin, err)
		g.cfg.Metrics.Action(req.Plugin, req.Action, errorCode(err), time.Since(started))
		return nil, err
	}
	g.cfg.Metrics.Action(req.Plugin, req.Action, "ok", time.Since(started))
	return out, nil
}

// checkOutput encodes an action's result and checks it against the output
// schema; a mismatch is the plugin's bug, not the caller's.
func (g *Gateway) checkOutput(ctx context.Context, req ActionRequest, at *actionType, result any) (json.RawMessage, error) {
	out, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("encoding result of %s.%s: %w", req.Plugin, req.Action, err)
	}
	if at.output == nil {
		return out, nil
	}
	doc, err := decodeJSON(out)
	if err != nil {
		return nil, fmt.Errorf("decoding result of %s.%s: %w", req.Plugin, req.Action, err)
	}
	if errs := at.output.validate(doc); len(errs) > 0 {
		g.log.ErrorContext(ctx, "action result does not match its output schema",
			slog.String("plugin", req.Plugin), slog.String("action", req.Action), slog.String("violations", describe(errs)))
		return nil, fmt.Errorf("result of %s.%s does not match its output schema: %s", req.Plugin, req.Action, describe(errs))
	}
	return out, nil
}

// runOnProcess runs an action on one of the instance's processes, named by
// the parameters' process_id, under the process's lock, committing its
// changes with the call's.
func (g *Gateway) runOnProcess(ctx context.Context, in *instance, v plugin.Instance, a plugin.Action, params json.RawMessage, encode func(any) error) error {
	var target struct {
		ProcessID *int64 `json:"process_id"`
	}
	// Decoded as the plugin will decode it, so that a folded key such as
	// "process_iD" cannot name a different process than the schema saw.
	if err := plugin.Unmarshal(params, &target); err != nil || target.ProcessID == nil {
		return &Error{Kind: KindInvalid, Code: "invalid_input", Field: "/process_id", Detail: "process_id must be a process id"}
	}
	id := *target.ProcessID
	row, err := g.store.ProcessGetByID(ctx, id)
	if isNotFound(err) || (err == nil && row.InstanceID != in.row.ID) {
		return newError(KindNotFound, CodeProcessNotFound, "no %s process with id %d", in.row.Name, id)
	}
	if err != nil {
		return err
	}
	_, _, err = g.step(ctx, id, "", func(ctx context.Context, _ plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error {
		result, err := a.RunProcess(ctx, v, c, p, params)
		if err != nil {
			return err
		}
		return encode(result)
	})
	return err
}

// validateParams checks a parameters object against a schema, filling
// defaults when asked, and returns it re-encoded.
func validateParams(s *schema, raw json.RawMessage, fillDefaults bool) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage(`{}`)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, invalidJSON("invalid_input", "the parameters", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, &Error{Kind: KindInvalid, Code: "invalid_input", Field: "", Detail: "parameters must be a JSON object"}
	}
	if fillDefaults {
		s.applyDefaults(doc)
	}
	if errs := s.validate(doc); len(errs) > 0 {
		return nil, &Error{Kind: KindInvalid, Code: "invalid_input", Field: errs[0].Field,
			Detail: "parameters validation error: " + describe(errs)}
	}
	if !fillDefaults {
		return raw, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding parameters: %w", err)
	}
	return out, nil
}
