package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// testkit is a plugin registered only in these tests, to drive the parts of
// the SDK the built-in plugins do not use: verified webhooks feeding
// processes, polling, platform failures and broken output.
type testkit struct {
	token string
}

func init() {
	obj := func(props string, required ...string) plugin.Schema {
		req, _ := json.Marshal(required)
		if required == nil {
			req = []byte("[]")
		}
		return plugin.Schema(fmt.Sprintf(`{"type":"object","properties":{%s},"required":%s}`, props, req))
	}
	valueOut := obj(`"value":{"type":"string"}`, "value")
	plugin.Register(plugin.Info{
		Name:          "testkit",
		Description:   "Test plugin",
		AuthType:      plugin.AuthAPIKey,
		Config:        obj(`"token":{"type":"string","default":"secret-token","writeOnly":true},"webhook_slug":{"type":"string","x-metagov-generated":true},"account":{"type":"string","default":"main"}`),
		PlatformIDKey: "account",
		New:           func() plugin.Instance { return &testkit{} },
		Platform:      accountRouter{},
		Actions: []plugin.Action{
			{Name: "echo", Input: obj(`"value":{"type":"string"}`, "value"), Output: valueOut, Run: plugin.Bind((*testkit).echo)},
			{Name: "bad-output", Output: valueOut, Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
				return map[string]any{"value": 5}, nil
			}},
			{Name: "platform-fail", Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
				return nil, &plugin.PlatformError{Platform: "testkit", Status: 503, Message: "maintenance until noon"}
			}},
			{Name: "platform-reject", Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
				return nil, &plugin.PlatformError{Platform: "testkit", Status: 422, Message: "title is too short", Rejected: true, Field: "/title"}
			}},
			{Name: "platform-timeout", Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
				return nil, &plugin.PlatformError{Platform: "testkit", Timeout: true, Message: "no answer after 10s"}
			}},
			{Name: "crash", Run: func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
				return nil, errors.New("secret internal detail")
			}},
			{Name: "nudge", Input: obj(`"process_id":{"type":"integer"},"votes":{"type":"integer"}`, "process_id"),
				RunProcess: nudge},
		},
		Processes: []plugin.ProcessType{
			{Name: "tally", Input: obj(`"title":{"type":"string"}`, "title"), New: func(plugin.Instance) plugin.ProcessHandler { return tally{} }},
			{Name: "ticker", PollInterval: time.Second, New: func(plugin.Instance) plugin.ProcessHandler { return ticker{} }},
			{Name: "stubborn", New: func(plugin.Instance) plugin.ProcessHandler { return stubborn{} }},
		},
	})
}

func (k *testkit) Provision(_ context.Context, env plugin.Env) error {
	var c struct {
		Token string `json:"token"`
	}
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	k.token = c.Token
	return nil
}

func (k *testkit) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	if req.Header.Get("X-Test-Token") != k.token {
		return fmt.Errorf("wrong X-Test-Token: %w", plugin.ErrUnauthorized)
	}
	return nil
}

func (k *testkit) ReceiveWebhook(_ context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	var body struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, &plugin.InputError{Message: "body is not JSON"}
	}
	if g, ok := webhookGates.Load(req.Path); ok && body.Event == "gate" {
		g.(*gate).entered <- struct{}{}
		<-g.(*gate).release
	}
	if body.Event == "" {
		return nil, nil
	}
	return nil, c.Emit(plugin.Event{Type: body.Event, Data: json.RawMessage(req.Body),
		Initiator: &plugin.Initiator{UserID: "alice", Provider: "testkit", UserName: "Alice A."}})
}

// webhookGates hold a webhook inside ReceiveWebhook, by request path, when
// its body is {"event": "gate"}: it reports on entered and waits for
// release, so a test can change things while a webhook is in flight.
var webhookGates sync.Map // path → *gate

type gate struct{ entered, release chan struct{} }

type echoIn struct {
	Value string `json:"value"`
}

func (k *testkit) echo(_ context.Context, _ *plugin.Call, in echoIn) (echoIn, error) { return in, nil }

// tally counts "yes" votes from webhooks and completes at three; it cannot
// be closed early.
type tally struct{}

type votes struct {
	Yes int `json:"yes"`
}

func (tally) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	p.SetURL(fmt.Sprintf("https://tally.example/%d", p.ID()))
	p.SetStatus(plugin.StatusPending)
	return p.SetOutcome(votes{})
}

func (tally) ReceiveWebhook(_ context.Context, _ *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	var body struct {
		Vote string `json:"vote"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil || body.Vote != "yes" {
		return nil
	}
	var v votes
	if err := p.DecodeOutcome(&v); err != nil {
		return err
	}
	v.Yes++
	if v.Yes >= 3 {
		p.Complete()
	}
	return p.SetOutcome(v)
}

// ticker counts its polls and can be closed.
type ticker struct{}

type ticks struct {
	Polls int `json:"polls"`
}

func (ticker) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	p.SetStatus(plugin.StatusPending)
	return p.SetOutcome(ticks{})
}

func (ticker) Poll(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	var t ticks
	if err := p.DecodeOutcome(&t); err != nil {
		return err
	}
	t.Polls++
	return p.SetOutcome(t)
}

func (ticker) Close(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	p.Complete()
	return nil
}

// stubborn is a process whose platform refuses to close it.
type stubborn struct{}

func (stubborn) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	p.SetStatus(plugin.StatusPending)
	return p.SetOutcome(map[string]int{"votes": 7})
}

func (stubborn) Close(context.Context, *plugin.Call, *plugin.Process) error {
	return &plugin.PlatformError{Platform: "testkit", Status: 503, Message: "closing is down"}
}

// nudge adds "yes" votes to a tally process from an action, and remembers
// each nudge in instance state to count them with State.List.
func nudge(ctx context.Context, _ plugin.Instance, c *plugin.Call, p *plugin.Process, params json.RawMessage) (any, error) {
	var in struct {
		Votes int `json:"votes"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return nil, err
	}
	if p.Status() != plugin.StatusPending {
		return nil, &plugin.InputError{Field: "/process_id", Message: "the tally is closed"}
	}
	var v votes
	if err := p.DecodeOutcome(&v); err != nil {
		return nil, err
	}
	v.Yes += in.Votes
	if err := p.SetOutcome(v); err != nil {
		return nil, err
	}
	if err := c.State().Set(fmt.Sprintf("nudge/%d/%d", p.ID(), v.Yes), in.Votes); err != nil {
		return nil, err
	}
	all, err := c.State().List(ctx, fmt.Sprintf("nudge/%d/", p.ID()))
	if err != nil {
		return nil, err
	}
	return map[string]any{"yes": v.Yes, "nudges": len(all)}, nil
}

// accountRouter receives platform-wide webhooks at /api/hooks/testkit and
// routes them by their X-Account header; a "ping" is answered directly.
type accountRouter struct{}

func (accountRouter) RouteWebhook(_ context.Context, req *plugin.WebhookRequest) (plugin.Route, error) {
	if req.Header.Get("X-Ping") != "" {
		return plugin.Route{Response: &plugin.WebhookResponse{Status: 200, Body: []byte("pong")}}, nil
	}
	account := req.Header.Get("X-Account")
	if account == "" {
		return plugin.Route{}, fmt.Errorf("no X-Account header: %w", plugin.ErrUnauthorized)
	}
	return plugin.Route{PlatformID: account}, nil
}
