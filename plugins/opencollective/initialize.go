package opencollective

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Instance state keys. The first four are the original's.
const (
	collectiveNameKey     = "collective_name"
	collectiveIDKey       = "collective_id"
	collectiveLegacyIDKey = "collective_legacy_id"
	projectLegacyIDsKey   = "project_legacy_ids"
	// webhookKey holds the webhook registered on Open Collective, so that
	// re-initializing with the same URL does not register a second one.
	webhookKey = "webhook"
)

// registeredWebhook is the webhook this instance registered.
type registeredWebhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// collective is what Initialize learns about the collective.
type collective struct {
	ID               string `json:"id"`
	LegacyID         int64  `json:"legacyId"`
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	ChildrenAccounts struct {
		Nodes []struct {
			ID       string `json:"id"`
			LegacyID int64  `json:"legacyId"`
			Slug     string `json:"slug"`
			Type     string `json:"type"`
		} `json:"nodes"`
	} `json:"childrenAccounts"`
}

// Initialize checks the credential and the collective, keeps the
// collective's ids in state (webhooks name it by its legacy id, or a
// project's) and registers the webhook. It runs on enable and on every
// config change; the webhook is registered only when its URL changed,
// unlike the original, which registered one more every time and at a URL
// with its path segments swapped.
func (oc *OpenCollective) Initialize(ctx context.Context, c *plugin.Call) error {
	var data struct {
		Collective *collective `json:"collective"`
	}
	if err := oc.client.do(ctx, "querying collective", collectiveQuery,
		map[string]any{"slug": oc.cfg.CollectiveSlug}, &data); err != nil {
		return err
	}
	col := data.Collective
	if col == nil {
		return &plugin.InputError{Field: "/collective_slug",
			Message: fmt.Sprintf("Collective '%s' not found", oc.cfg.CollectiveSlug)}
	}
	projects := []int64{}
	for _, n := range col.ChildrenAccounts.Nodes {
		if n.Type == "PROJECT" {
			projects = append(projects, n.LegacyID)
		}
	}
	for key, v := range map[string]any{
		collectiveNameKey:     col.Name,
		collectiveIDKey:       col.ID,
		collectiveLegacyIDKey: col.LegacyID,
		projectLegacyIDsKey:   projects,
	} {
		if err := c.State().Set(key, v); err != nil {
			return fmt.Errorf("initializing opencollective: %w", err)
		}
	}
	return oc.registerWebhook(ctx, c)
}

// registerWebhook subscribes the gateway's webhook URL to every activity of
// the collective, unless the state says it already is. A webhook left at an
// older URL (the webhook_slug or public URL changed) is deleted afterwards;
// failing to delete it only costs deliveries to a path that answers 404, so
// it is logged, not fatal.
//
// Open Collective refuses webhook URLs on IP addresses, localhost, private
// names and addresses, which is what the gateway's default public URL (its
// listen address) is. Such a URL is not a reason to refuse the plugin: the
// actions and votes work without webhooks. So a URL that fails Open
// Collective's rules (webhookURLProblem), or that Open Collective refuses,
// is not registered, and a warning says what to do; the next config change
// tries again. A token that lacks 2FA pre-authorization is refused, though:
// process-expense would fail with it too.
func (oc *OpenCollective) registerWebhook(ctx context.Context, c *plugin.Call) error {
	var old registeredWebhook
	found, err := c.State().Get(ctx, webhookKey, &old)
	if err != nil {
		return fmt.Errorf("registering webhook: %w", err)
	}
	if found && old.URL == oc.webhookURL {
		return nil
	}
	if problem := webhookURLProblem(oc.webhookURL); problem != "" {
		oc.warnUnregistered(c, problem)
		return nil
	}
	var data struct {
		CreateWebhook struct {
			ID         string `json:"id"`
			WebhookURL string `json:"webhookUrl"`
		} `json:"createWebhook"`
	}
	vars := map[string]any{"webhook": map[string]any{
		"account":      map[string]any{"slug": oc.cfg.CollectiveSlug},
		"activityType": "ACTIVITY_ALL",
		"webhookUrl":   oc.webhookURL,
	}}
	if err := oc.client.do(ctx, "registering webhook", createWebhookMutation, vars, &data); err != nil {
		var pe *plugin.PlatformError
		switch {
		case errors.Is(err, errTwoFactor):
			field := "/api_key"
			if oc.cfg.APIKey == "" {
				field = "/access_token"
			}
			return &plugin.InputError{Field: field, Message: err.Error()}
		case errors.As(err, &pe) && pe.Rejected && refusesURL(pe.Message):
			oc.warnUnregistered(c, pe.Message)
			return nil
		}
		return err
	}
	if err := c.State().Set(webhookKey, registeredWebhook{ID: data.CreateWebhook.ID, URL: oc.webhookURL}); err != nil {
		return fmt.Errorf("registering webhook: %w", err)
	}
	if found && old.ID != "" {
		vars := map[string]any{"webhook": map[string]any{"id": old.ID}}
		if err := oc.client.do(ctx, "deleting old webhook", deleteWebhookMutation, vars, nil); err != nil {
			oc.log.WarnContext(ctx, "old webhook not deleted", slog.String("webhook_id", old.ID), slog.Any("error", err))
		}
	}
	return nil
}

// Disable deletes the webhook Initialize registered, so that Open
// Collective stops posting the collective's activities to a gateway path
// that no longer answers (and whose webhook_slug a new instance might
// reuse). A webhook already gone, deleted on the website, is nothing to
// undo. The gateway reports any other failure as a warning: the instance
// is removed all the same, and the webhook can be deleted on the
// collective's settings page.
func (oc *OpenCollective) Disable(ctx context.Context, c *plugin.Call) error {
	var hook registeredWebhook
	found, err := c.State().Get(ctx, webhookKey, &hook)
	if err != nil {
		return fmt.Errorf("deleting webhook: %w", err)
	}
	if !found || hook.ID == "" {
		return nil
	}
	vars := map[string]any{"webhook": map[string]any{"id": hook.ID}}
	err = oc.client.do(ctx, "deleting webhook "+hook.ID, deleteWebhookMutation, vars, nil)
	var pe *plugin.PlatformError
	if errors.As(err, &pe) && pe.Rejected && strings.Contains(strings.ToLower(pe.Message), "webhook not found") {
		return nil
	}
	return err
}

// refusesURL reports whether a refusal of createWebhook is about the URL,
// as the messages of Open Collective's Notification model and
// lib/webhooks.ts put it ("Webhook URL must be a valid URL", "IP addresses
// cannot be used as webhooks", "Webhook URL hostname could not be
// resolved", "Webhook URL resolves to a disallowed address", ...).
func refusesURL(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "webhook url") || strings.Contains(msg, "used as webhooks")
}

// warnUnregistered says, in the enable answer and the log, that the webhook
// was not registered and what to do about it.
func (oc *OpenCollective) warnUnregistered(c *plugin.Call, reason string) {
	c.Warn("the webhook was not registered, so expense events need METAGOV_PUBLIC_URL or a hand-registered webhook: "+
		"Open Collective does not accept %s as a webhook URL (%s). Set METAGOV_PUBLIC_URL to the gateway's public address "+
		"(a domain name Open Collective can reach) and change this plugin's config to register it, or add a webhook for "+
		"all activities on the collective's settings page at a public URL that forwards to %s. Actions and votes work without it.",
		oc.webhookURL, reason, oc.hookPath)
}

// collectiveIDs reads the legacy ids that webhooks may name: the
// collective's and its projects'.
func (oc *OpenCollective) collectiveIDs(ctx context.Context, c *plugin.Call) (map[int64]bool, error) {
	var id int64
	var projects []int64
	if _, err := c.State().Get(ctx, collectiveLegacyIDKey, &id); err != nil {
		return nil, err
	}
	if _, err := c.State().Get(ctx, projectLegacyIDsKey, &projects); err != nil {
		return nil, err
	}
	ids := map[int64]bool{id: true}
	for _, p := range projects {
		ids[p] = true
	}
	return ids, nil
}
