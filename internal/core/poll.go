package core

import (
	"cmp"
	"context"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// PollInstance runs a plugin instance's Poll.
func (g *Gateway) PollInstance(ctx context.Context, id int64) error {
	row, err := g.store.PluginInstanceGetByID(ctx, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	entry, err := g.communityByID(ctx, row.CommunityID)
	if err != nil {
		return ignoreGone(err)
	}
	for _, in := range entry.instances {
		if in.row.ID != id {
			continue
		}
		v, err := in.ready()
		if err != nil {
			return err
		}
		poller, ok := v.(plugin.Poller)
		if !ok {
			return nil
		}
		call := g.newCall(in)
		if err := poller.Poll(ctx, call); err != nil {
			return fromPlugin(in.row.Name, err)
		}
		_, err = g.commit(ctx, &unit{community: entry, inst: in, call: call})
		return err
	}
	return nil
}

// DefaultPollInterval is how often pollers run when their plugin does not
// say.
const DefaultPollInterval = time.Minute

// PollSchedule is one periodic poll: a plugin whose instances poll (Process
// empty) or a process type whose pending processes poll.
type PollSchedule struct {
	Plugin   string
	Process  string
	Interval time.Duration
}

// PollSchedules lists the periodic polls the served plugins need.
func (g *Gateway) PollSchedules() []PollSchedule {
	var out []PollSchedule
	for _, info := range g.cfg.Plugins {
		t := g.types[info.Name]
		if t.polls {
			out = append(out, PollSchedule{Plugin: info.Name, Interval: cmp.Or(info.PollInterval, DefaultPollInterval)})
		}
		for _, p := range info.Processes {
			if t.processes[p.Name].polls {
				out = append(out, PollSchedule{Plugin: info.Name, Process: p.Name, Interval: cmp.Or(p.PollInterval, DefaultPollInterval)})
			}
		}
	}
	return out
}

// PollTargets returns the ids to poll for one schedule: instance ids when
// process is empty, else pending process ids.
func (g *Gateway) PollTargets(ctx context.Context, pluginName, process string) ([]int64, error) {
	if process != "" {
		return g.store.ProcessListPendingIDsByType(ctx, pluginName, process)
	}
	rows, err := g.store.PluginInstanceListByName(ctx, pluginName)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids, nil
}
