package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/metagov/metagov-go/plugin"
)

// ReceiveWebhook hands a webhook received at
// /api/hooks/<community>/<plugin>[/<webhook_slug>] to the matching instance:
// its verifier first (a failure is KindUnauthorized and nothing runs), then
// its receiver, then the webhook receivers of its open processes.
func (g *Gateway) ReceiveWebhook(ctx context.Context, slug, pluginName, hookSlug string, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	notFound := newError(KindNotFound, "hook_not_found", "no webhook receiver at this path")
	req.Setting = g.cfg.Settings
	typ, ok := g.types[pluginName]
	if !ok || !typ.takesWebhooks {
		return nil, notFound
	}
	entry, err := g.community(ctx, slug)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			return nil, notFound
		}
		return nil, err
	}
	var targets []*instance
	for _, in := range entry.instances {
		if in.row.Name == pluginName && in.hookSlug == hookSlug {
			targets = append(targets, in)
		}
	}
	if len(targets) == 0 {
		return nil, notFound
	}
	return g.deliverWebhook(ctx, entry, targets, req)
}

// ReceivePlatformWebhook hands a webhook received at /api/hooks/<plugin> to
// the plugin's router, then to every instance connected to the platform
// account it names.
func (g *Gateway) ReceivePlatformWebhook(ctx context.Context, pluginName string, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	typ, ok := g.types[pluginName]
	if !ok || typ.info.Platform == nil {
		return nil, newError(KindNotFound, "hook_not_found", "plugin %s has no platform webhook receiver", pluginName)
	}
	req.Setting = g.cfg.Settings
	route, err := typ.info.Platform.RouteWebhook(ctx, req)
	if err != nil {
		return nil, g.webhookError(ctx, pluginName, err)
	}
	if route.PlatformID == "" {
		return route.Response, nil
	}
	rows, err := g.store.PluginInstanceListByPlatformID(ctx, pluginName, route.PlatformID)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		entry, err := g.communityByID(ctx, row.CommunityID)
		if err != nil {
			return nil, err
		}
		for _, in := range entry.instances {
			if in.row.ID == row.ID {
				if _, err := g.deliverWebhook(ctx, entry, []*instance{in}, req); err != nil {
					return nil, err
				}
			}
		}
	}
	return route.Response, nil
}

func (g *Gateway) deliverWebhook(ctx context.Context, entry *communityEntry, targets []*instance, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	var resp *plugin.WebhookResponse
	verified := 0
	var lastErr error
	for _, in := range targets {
		v, err := in.ready()
		if err != nil {
			lastErr = err
			continue
		}
		if verifier, ok := v.(plugin.WebhookVerifier); ok {
			if err := verifier.VerifyWebhook(ctx, req); err != nil {
				lastErr = g.webhookError(ctx, in.row.Name, err)
				continue
			}
		}
		verified++
		r, err := g.receiveOnInstance(ctx, entry, in, v, req)
		if err != nil {
			return nil, g.webhookError(ctx, in.row.Name, err)
		}
		if r != nil {
			resp = r
		}
	}
	if verified == 0 {
		return nil, lastErr
	}
	return resp, nil
}

// receiveOnInstance runs the instance's receiver and then its open
// processes' receivers, each in its own unit of work. A process that fails
// is logged and skipped: the platform cannot fix it by sending again.
func (g *Gateway) receiveOnInstance(ctx context.Context, entry *communityEntry, in *instance, v plugin.Instance, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	var resp *plugin.WebhookResponse
	if receiver, ok := v.(plugin.WebhookReceiver); ok {
		call := g.newCall(in)
		r, err := receiver.ReceiveWebhook(ctx, call, req)
		if err != nil {
			return nil, err
		}
		if _, err := g.commit(ctx, &unit{community: entry, inst: in, call: call}); err != nil {
			return nil, err
		}
		resp = r
	}
	open, err := g.store.ProcessListOpenByInstance(ctx, in.row.ID)
	if err != nil {
		return nil, err
	}
	for _, row := range open {
		pt, ok := in.typ.processes[row.Name]
		if !ok {
			continue
		}
		if _, ok := pt.pt.New(v).(plugin.ProcessWebhookReceiver); !ok {
			continue
		}
		_, _, err := g.step(ctx, row.ID, "", func(ctx context.Context, h plugin.ProcessHandler, c *plugin.Call, p *plugin.Process) error {
			if p.Status() != plugin.StatusPending {
				return nil
			}
			return h.(plugin.ProcessWebhookReceiver).ReceiveWebhook(ctx, c, p, req)
		})
		if err != nil {
			g.log.ErrorContext(ctx, "process failed to handle a webhook", slog.String("plugin", in.row.Name),
				slog.String("community", in.slug), slog.Int64("process_id", row.ID), slog.Any("error", err))
		}
	}
	return resp, nil
}

// webhookError keeps a plugin's internal failure from leaking to whoever
// sent the webhook: verification and input errors are reported, anything
// else is logged and answered generically.
func (g *Gateway) webhookError(ctx context.Context, pluginName string, err error) error {
	err = fromPlugin(pluginName, err)
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	g.log.ErrorContext(ctx, "plugin failed to handle a webhook", slog.String("plugin", pluginName), slog.Any("error", err))
	return &Error{Kind: KindInternal, Code: "webhook_failed", Detail: fmt.Sprintf("%s failed to process the webhook", pluginName), Err: err}
}
