package core

import (
	"fmt"

	"github.com/metagov/metagov-go/plugin"
)

// pluginType is a registered plugin with its schemas compiled.
type pluginType struct {
	info      plugin.Info
	config    *schema
	actions   map[string]*actionType
	processes map[string]*processType
	// takesWebhooks is set when instances verify or receive webhooks, so
	// the community lists a receiver path for them.
	takesWebhooks bool
	// polls is set when instances implement plugin.Poller.
	polls bool
	// secrets are the config properties marked writeOnly.
	secrets [][]string
	// destinations are the config properties that decide where the secrets
	// are sent (plugin.DestinationKeyword).
	destinations [][]string
	// generated are the top-level config properties marked plugin.GeneratedKeyword.
	generated []string
}

type actionType struct {
	action plugin.Action
	input  *schema
	output *schema
}

type processType struct {
	pt    plugin.ProcessType
	input *schema
	// polls is set when handlers implement plugin.ProcessPoller.
	polls bool
}

// compileRegistry compiles the schemas of every registered plugin. A schema
// that does not compile is a bug in the plugin, reported at start.
func compileRegistry(infos []plugin.Info) (map[string]*pluginType, error) {
	out := make(map[string]*pluginType, len(infos))
	for _, info := range infos {
		t, err := compilePlugin(info)
		if err != nil {
			return nil, err
		}
		out[info.Name] = t
	}
	return out, nil
}

func compilePlugin(info plugin.Info) (*pluginType, error) {
	t := &pluginType{info: info, actions: map[string]*actionType{}, processes: map[string]*processType{}}
	var err error
	if t.config, err = compileSchema(info.Name+".config", info.Config); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", info.Name, err)
	}
	if t.config != nil {
		t.secrets = secretPaths(t.config.raw)
		if t.destinations, err = destinationPaths(t.config.raw); err != nil {
			return nil, fmt.Errorf("plugin %s: config schema: %w", info.Name, err)
		}
		t.generated = generatedProperties(t.config.raw)
	}
	for _, a := range info.Actions {
		at := &actionType{action: a}
		if at.input, err = compileSchema(info.Name+"."+a.Name+".input", a.Input); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", info.Name, err)
		}
		if at.output, err = compileSchema(info.Name+"."+a.Name+".output", a.Output); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", info.Name, err)
		}
		t.actions[a.Name] = at
	}
	// A fresh, unprovisioned instance is enough to learn which optional
	// interfaces the plugin implements.
	probe := info.New()
	_, verifies := probe.(plugin.WebhookVerifier)
	_, receives := probe.(plugin.WebhookReceiver)
	_, t.polls = probe.(plugin.Poller)
	t.takesWebhooks = verifies || receives
	for _, p := range info.Processes {
		ptype := &processType{pt: p}
		if ptype.input, err = compileSchema(info.Name+"."+p.Name+".input", p.Input); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", info.Name, err)
		}
		handler := p.New(probe)
		_, ptype.polls = handler.(plugin.ProcessPoller)
		if _, ok := handler.(plugin.ProcessWebhookReceiver); ok {
			t.takesWebhooks = true
		}
		t.processes[p.Name] = ptype
	}
	return t, nil
}

// TakesWebhooks reports whether a plugin's instances receive webhooks at
// /api/hooks/<community>/<plugin>.
func (g *Gateway) TakesWebhooks(name string) bool {
	t, ok := g.types[name]
	return ok && t.takesWebhooks
}
