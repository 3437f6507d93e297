package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// chatbotKey is the instance state key of the id of the webhook ("chatbot")
// the plugin registered on Loomio.
const chatbotKey = "chatbot_id"

// chatbotEvents are the kinds the registered webhook subscribes to: the
// ones that can change a poll's outcome or status.
var chatbotEvents = []string{"stance_created", "poll_closed_by_user", "poll_expired", "poll_edited", "outcome_created"}

// chatbot is a Loomio chatbot as the chatbots API serializes it (in part).
type chatbot struct {
	ID     int64  `json:"id"`
	Server string `json:"server"`
}

// manualSetup tells a person how to add the webhook by hand.
func (l *Loomio) manualSetup(g group) string {
	return fmt.Sprintf("add it by hand in the settings of Loomio group %s (Chatbots / Integrations, Webhook, format markdown, events: %s) with the URL %s",
		g, strings.Join(chatbotEvents, ", "), l.hookURL)
}

// reachable reports why Loomio would refuse to POST to rawURL, or "": its
// SafeHttpService refuses loopback, private and link-local addresses and
// names that only resolve inside a network.
func reachable(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "it is not an http(s) URL"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || !strings.Contains(host, ".") && net.ParseIP(host) == nil {
		return "its host " + host + " is not a public name"
	}
	if ip := net.ParseIP(host); ip != nil &&
		(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast()) {
		return "its address " + host + " is not public"
	}
	return ""
}

// registerWebhook registers the instance's webhook URL on Loomio as a
// markdown chatbot of group g, or moves the one it registered before to
// the current URL, and keeps its id in state. Loomio lets only group admins
// manage chatbots; a key whose user is not one, or a gateway whose public
// URL Loomio cannot reach, fails the enable with a 400 saying how to add
// the webhook by hand.
func (l *Loomio) registerWebhook(ctx context.Context, c *plugin.Call, g group) error {
	if why := reachable(l.hookURL); why != "" {
		return &plugin.InputError{Field: "/register_webhook", Message: fmt.Sprintf(
			"Loomio cannot reach the gateway's webhook URL %s: %s; set the gateway's public URL (METAGOV_PUBLIC_URL), or set register_webhook to false and %s",
			l.hookURL, why, l.manualSetup(g))}
	}
	id := strconv.FormatInt(g.ID, 10)
	raw, err := l.client.get(ctx, "chatbots", url.Values{"group_id": {id}})
	if isStatus(err, http.StatusForbidden, http.StatusNotFound) {
		return &plugin.InputError{Field: "/register_webhook", Message: fmt.Sprintf(
			"only a group admin can register a webhook, and Loomio refused to list the chatbots of group %s (%v); make the key's user an admin, or set register_webhook to false and %s",
			g, err, l.manualSetup(g))}
	}
	if err != nil {
		return fmt.Errorf("listing loomio chatbots: %w", err)
	}
	var list struct {
		Chatbots []chatbot `json:"chatbots"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return &plugin.PlatformError{Platform: platform, Message: "unexpected chatbots answer: " + err.Error()}
	}
	var mine int64
	if _, err := c.State().Get(ctx, chatbotKey, &mine); err != nil {
		return fmt.Errorf("reading loomio chatbot: %w", err)
	}
	fields := map[string]string{"server": "/register_webhook"}
	attrs := map[string]any{"group_id": g.ID, "name": "Metagov", "kind": "webhook", "webhook_kind": "markdown",
		"server": l.hookURL, "event_kinds": chatbotEvents, "notification_only": false}
	for _, b := range list.Chatbots {
		if b.Server == l.hookURL {
			return c.State().Set(chatbotKey, b.ID)
		}
	}
	for _, b := range list.Chatbots {
		if b.ID == mine && mine != 0 {
			// The slug or the public URL changed: move our webhook.
			if _, err := l.client.send(ctx, http.MethodPatch, "chatbots/"+strconv.FormatInt(mine, 10),
				map[string]any{"chatbot": attrs}, fields); err != nil {
				return fmt.Errorf("updating the loomio webhook: %w", err)
			}
			return nil
		}
	}
	raw, err = l.client.send(ctx, http.MethodPost, "chatbots", map[string]any{"group_id": g.ID, "chatbot": attrs}, fields)
	if err != nil {
		return fmt.Errorf("registering the loomio webhook: %w", err)
	}
	var created struct {
		Chatbots []chatbot `json:"chatbots"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || len(created.Chatbots) == 0 {
		return &plugin.PlatformError{Platform: platform, Message: "the chatbot answer names no chatbot"}
	}
	return c.State().Set(chatbotKey, created.Chatbots[0].ID)
}
