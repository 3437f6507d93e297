package discordfake

import (
	"encoding/json"
	"net/http"
	"net/url"
)

func (c *call) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(c.body, &m)
	return m
}

func (f *Fake) createCommand(c *call) (int, any) {
	if c.params["application_id"] != ClientID {
		return http.StatusForbidden, apiError(50001, "Missing Access")
	}
	if c.params["guild_id"] != GuildID {
		return http.StatusNotFound, apiError(10004, "Unknown Guild")
	}
	in := c.json()
	if _, ok := in["name"].(string); !ok {
		return http.StatusBadRequest, map[string]any{"code": 50035, "message": "Invalid Form Body",
			"errors": map[string]any{"name": map[string]any{"_errors": []any{map[string]any{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}}}}}
	}
	cmd := map[string]any{"id": f.id(), "type": 1, "application_id": ClientID, "guild_id": GuildID, "version": f.id(),
		"default_member_permissions": nil, "nsfw": false}
	for k, v := range in {
		cmd[k] = v
	}
	if _, ok := cmd["description"]; !ok {
		cmd["description"] = ""
	}
	f.mu.Lock()
	f.commands[cmd["id"].(string)] = cmd
	f.mu.Unlock()
	return http.StatusCreated, cmd
}

func (f *Fake) updateCommand(c *call) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd, ok := f.commands[c.params["command_id"]]
	if !ok || c.params["guild_id"] != GuildID {
		return http.StatusNotFound, apiError(10063, "Unknown application command")
	}
	for k, v := range c.json() {
		cmd[k] = v
	}
	return http.StatusOK, cmd
}

func (f *Fake) getGuild(c *call) (int, any) {
	if c.params["guild_id"] != GuildID {
		return http.StatusNotFound, apiError(10004, "Unknown Guild")
	}
	return http.StatusOK, guildJSON()
}

// guildJSON is the guild as GET /guilds/{id} describes it.
func guildJSON() map[string]any {
	return map[string]any{"id": GuildID, "name": GuildName, "icon": nil, "description": nil, "home_header": nil,
		"splash": nil, "discovery_splash": nil, "features": []any{}, "banner": nil, "owner_id": Admin,
		"application_id": nil, "region": "", "afk_channel_id": nil, "afk_timeout": 300, "system_channel_id": General,
		"system_channel_flags": 0, "widget_enabled": false, "widget_channel_id": nil, "verification_level": 0,
		"roles": []any{}, "default_message_notifications": 0, "mfa_level": 0, "explicit_content_filter": 0,
		"max_presences": nil, "max_members": 500000, "max_stage_video_channel_users": 50, "max_video_channel_users": 25,
		"vanity_url_code": nil, "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
		"rules_channel_id": nil, "safety_alerts_channel_id": nil, "public_updates_channel_id": nil,
		"premium_progress_bar_enabled": false, "nsfw": false, "nsfw_level": 0, "emojis": []any{}, "stickers": []any{}}
}

func (f *Fake) messageJSON(m *Message) map[string]any {
	comps := m.Components
	if comps == nil {
		comps = []any{}
	}
	return map[string]any{"id": m.ID, "channel_id": m.ChannelID, "type": 0, "content": m.Content,
		"components": comps, "attachments": []any{}, "embeds": []any{}, "mentions": []any{}, "mention_roles": []any{},
		"pinned": false, "mention_everyone": false, "tts": false, "timestamp": "2026-12-02T10:00:00.000000+00:00",
		"edited_timestamp": nil, "flags": 0,
		"author": map[string]any{"id": ClientID, "username": "Metagov", "discriminator": "0000", "avatar": nil, "bot": true,
			"global_name": nil, "public_flags": 0, "flags": 0}}
}

func (f *Fake) createMessage(c *call) (int, any) {
	if c.params["channel_id"] != General {
		return http.StatusNotFound, apiError(10003, "Unknown Channel")
	}
	in := c.json()
	content, _ := in["content"].(string)
	comps, _ := in["components"].([]any)
	m := &Message{ID: f.id(), ChannelID: General, Content: content, Components: comps}
	f.mu.Lock()
	f.messages[m.ID] = m
	f.mu.Unlock()
	return http.StatusOK, f.messageJSON(m)
}

func (f *Fake) editMessage(c *call) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[c.params["message_id"]]
	if !ok || m.ChannelID != c.params["channel_id"] {
		return http.StatusNotFound, apiError(10008, "Unknown Message")
	}
	in := c.json()
	if v, ok := in["content"].(string); ok {
		m.Content = v
	}
	if v, ok := in["components"].([]any); ok {
		m.Components = v
	}
	return http.StatusOK, f.messageJSON(m)
}

// userJSON is a user as GET /users/@me describes it.
func userJSON(id, name string) map[string]any {
	return map[string]any{"id": id, "username": name, "discriminator": "0", "global_name": name, "avatar": nil,
		"public_flags": 0, "flags": 0, "mfa_enabled": false, "locale": "en-US", "premium_type": 0}
}

func (f *Fake) me(c *call) (int, any) {
	if c.token == "user-token-app" {
		return http.StatusOK, userJSON(Admin, "admin")
	}
	return http.StatusOK, userJSON(Member, "member")
}

func (f *Fake) myGuilds(_ *call) (int, any) {
	g := func(id, name string) map[string]any {
		return map[string]any{"id": id, "name": name, "icon": nil, "owner": false, "permissions": "0", "features": []any{},
			"approximate_member_count": nil, "approximate_presence_count": nil}
	}
	return http.StatusOK, []any{g(OtherGuildID, "Other Guild"), g(GuildID, GuildName)}
}

// token is POST /oauth2/token (authorization_code), from Discord's OAuth2
// documentation: a form with client credentials, answered with the
// person's token and, for a bot install, the guild.
func (f *Fake) token(c *call) (int, any) {
	form, err := url.ParseQuery(string(c.body))
	if err != nil || c.r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, map[string]any{"error": "invalid_request"}
	}
	if form.Get("client_id") != ClientID || form.Get("client_secret") != ClientSecret {
		return http.StatusUnauthorized, map[string]any{"error": "invalid_client"}
	}
	if form.Get("grant_type") != "authorization_code" || form.Get("redirect_uri") == "" {
		return http.StatusBadRequest, map[string]any{"error": "invalid_request"}
	}
	f.mu.Lock()
	typ, ok := f.codes[form.Get("code")]
	delete(f.codes, form.Get("code"))
	f.mu.Unlock()
	if !ok {
		return http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": `Invalid "code" in request.`}
	}
	out := map[string]any{"token_type": "Bearer", "expires_in": 604800, "refresh_token": "refresh-" + typ,
		"access_token": "user-token-" + typ}
	if typ == "app" {
		out["scope"] = "applications.commands bot identify guilds"
		out["guild"] = map[string]any{"id": GuildID, "name": GuildName}
	} else {
		out["scope"] = "identify guilds"
	}
	return http.StatusOK, out
}
