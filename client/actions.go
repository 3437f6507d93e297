package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Action performs the action "<plugin>.<action>" for the client's community
// with the given parameters (nil: none) and returns its result as JSON.
func (c *Client) Action(ctx context.Context, action string, params any) (json.RawMessage, error) {
	return c.action(ctx, "/api/internal/action/", action, params)
}

// PublicAction performs a public action at /api/action/…, which needs no
// API key.
func (c *Client) PublicAction(ctx context.Context, action string, params any) (json.RawMessage, error) {
	return c.action(ctx, "/api/action/", action, params)
}

func (c *Client) action(ctx context.Context, prefix, action string, params any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	var out json.RawMessage
	_, err := c.getJSON(ctx, http.MethodPost, prefix+pathEscape(action), nil, map[string]any{"parameters": params}, true, &out)
	return out, err
}

// Perform is Action with the result decoded into Out:
//
//	var n struct{ Value int `json:"value"` }
//	n, err := client.Perform[struct{ Value int `json:"value"` }](ctx, c, "randomness.random-int", map[string]int{"low": 1, "high": 6})
func Perform[Out any](ctx context.Context, c *Client, action string, params any) (Out, error) {
	var out Out
	raw, err := c.Action(ctx, action, params)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("metagov: reading the result of %s: %w", action, err)
	}
	return out, nil
}

// Process is a governance process's record, as GET answers and as callbacks
// carry it.
type Process struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Community string          `json:"community"`
	Status    string          `json:"status"`
	URL       *string         `json:"url"`
	Errors    json.RawMessage `json:"errors"`
	Outcome   json.RawMessage `json:"outcome"`
	// Sequence increases with every change: of two records of one process,
	// the one with the higher sequence is the newer.
	Sequence int64 `json:"sequence"`
}

// Completed reports whether the process's outcome is final.
func (p *Process) Completed() bool { return p.Status == "completed" }

// DecodeOutcome decodes the outcome into v.
func (p *Process) DecodeOutcome(v any) error { return json.Unmarshal(p.Outcome, v) }

// StartProcess starts the process "<plugin>.<process>" for the client's
// community. params are its parameters; callbackURL, when not empty, is
// where the gateway POSTs the record on every change. The returned record's
// ID comes from the Location header.
func (c *Client) StartProcess(ctx context.Context, process, callbackURL string, params any) (*Process, error) {
	body := map[string]any{}
	if params != nil {
		raw, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("metagov: encoding the parameters of %s: %w", process, err)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("metagov: the parameters of %s must be a JSON object: %w", process, err)
		}
	}
	if callbackURL != "" {
		body["callback_url"] = callbackURL
	}
	var out Process
	r, err := c.getJSON(ctx, http.MethodPost, "/api/internal/process/"+pathEscape(process), nil, body, true, &out)
	if err != nil {
		return nil, err
	}
	id, err := processIDFrom(r.header.Get("Location"))
	if err != nil {
		return nil, err
	}
	out.ID = id
	return &out, nil
}

// processIDFrom reads the id at the end of a process's Location.
func processIDFrom(location string) (int64, error) {
	u, err := url.Parse(location)
	if err == nil {
		i := strings.LastIndex(u.Path, "/")
		if id, err := strconv.ParseInt(u.Path[i+1:], 10, 64); err == nil && i >= 0 {
			return id, nil
		}
	}
	return 0, fmt.Errorf("metagov: the process start answered no usable Location (%q)", location)
}

func processPath(process string, id int64) string {
	return "/api/internal/process/" + pathEscape(process) + "/" + strconv.FormatInt(id, 10)
}

// GetProcess reads a process's record.
func (c *Client) GetProcess(ctx context.Context, process string, id int64) (*Process, error) {
	var out Process
	_, err := c.getJSON(ctx, http.MethodGet, processPath(process, id), nil, nil, false, &out)
	return &out, err
}

// CloseProcess closes a process early and returns its completed record.
func (c *Client) CloseProcess(ctx context.Context, process string, id int64) (*Process, error) {
	var out Process
	_, err := c.getJSON(ctx, http.MethodDelete, processPath(process, id), nil, nil, false, &out)
	return &out, err
}

// WaitProcess reads the process every interval (default 1 s) until it
// completes, and returns its final record; it stops with ctx. A driver
// that can receive callbacks need not poll: see Receiver.
func (c *Client) WaitProcess(ctx context.Context, process string, id int64, interval time.Duration) (*Process, error) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p, err := c.GetProcess(ctx, process, id)
		if err != nil {
			return nil, err
		}
		if p.Completed() {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("metagov: waiting for %s %d: %w", process, id, ctx.Err())
		case <-t.C:
		}
	}
}
