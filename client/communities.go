package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// Community is a community with its plugin instances.
type Community struct {
	Slug         string   `json:"slug"`
	ReadableName string   `json:"readable_name"`
	Plugins      []Plugin `json:"plugins"`
}

// Plugin is a plugin instance: a community's connection to one platform
// account.
type Plugin struct {
	ID                  int64           `json:"id"`
	Name                string          `json:"name"`
	Community           string          `json:"community"`
	CommunityPlatformID *string         `json:"community_platform_id"`
	AuthType            string          `json:"auth_type"`
	Config              json.RawMessage `json:"config"`
	// Warnings are the plugin's caveats about the enable or config change
	// just made, such as a webhook it could not register.
	Warnings []string `json:"warnings,omitempty"`
}

// PluginConfig is a plugin to enable with its config.
type PluginConfig struct {
	Name   string `json:"name"`
	Config any    `json:"config,omitempty"`
}

// CommunitySpec is the body of a community create or replace.
type CommunitySpec struct {
	// Slug, on create only, is the community's identifier; the gateway
	// makes one up when it is empty.
	Slug         string `json:"slug,omitempty"`
	ReadableName string `json:"readable_name,omitempty"`
	// Plugins is the complete list of plugins on replace (unlisted ones are
	// disabled); nil leaves them as they are.
	Plugins []PluginConfig `json:"plugins,omitempty"`
}

// CreateCommunity creates a community with the listed plugins, all or
// nothing.
func (c *Client) CreateCommunity(ctx context.Context, spec CommunitySpec) (*Community, error) {
	var out Community
	_, err := c.getJSON(ctx, http.MethodPost, "/api/internal/community", nil, spec, false, &out)
	return &out, err
}

// PutCommunity creates (created is true) or replaces the community slug.
func (c *Client) PutCommunity(ctx context.Context, slug string, spec CommunitySpec) (community *Community, created bool, err error) {
	spec.Slug = ""
	var out Community
	r, err := c.getJSON(ctx, http.MethodPut, "/api/internal/community/"+pathEscape(slug), nil, putBody(spec), false, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, r.status == http.StatusCreated, nil
}

// putBody keeps "plugins": [] (disable every plugin) apart from a nil list
// (leave them as they are).
func putBody(spec CommunitySpec) any {
	body := map[string]any{}
	if spec.ReadableName != "" {
		body["readable_name"] = spec.ReadableName
	}
	if spec.Plugins != nil {
		body["plugins"] = spec.Plugins
	}
	return body
}

// GetCommunity reads a community.
func (c *Client) GetCommunity(ctx context.Context, slug string) (*Community, error) {
	var out Community
	_, err := c.getJSON(ctx, http.MethodGet, "/api/internal/community/"+pathEscape(slug), nil, nil, false, &out)
	return &out, err
}

// DeleteCommunity deletes a community with its plugins and processes.
func (c *Client) DeleteCommunity(ctx context.Context, slug string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/internal/community/"+pathEscape(slug), nil, nil, false)
	return err
}

// Hooks lists the community's webhook receiver paths.
func (c *Client) Hooks(ctx context.Context, slug string) ([]string, error) {
	var out struct {
		Hooks []string `json:"hooks"`
	}
	_, err := c.getJSON(ctx, http.MethodGet, "/api/internal/community/"+pathEscape(slug)+"/hooks", nil, nil, false, &out)
	return out.Hooks, err
}

// EnablePlugin enables a plugin for the client's community (created is
// true) or updates the config of its existing instance.
func (c *Client) EnablePlugin(ctx context.Context, name string, config any) (plugin *Plugin, created bool, err error) {
	if config == nil {
		config = map[string]any{}
	}
	var out Plugin
	r, err := c.getJSON(ctx, http.MethodPost, "/api/internal/plugin/"+pathEscape(name), nil, config, true, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, r.status == http.StatusCreated, nil
}

// DisablePlugin deletes a plugin instance by id, within the client's
// community when it has one.
func (c *Client) DisablePlugin(ctx context.Context, name string, id int64) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/internal/plugin/"+pathEscape(name)+"/"+strconv.FormatInt(id, 10), nil, nil, true)
	return err
}

// PluginSchemas returns every plugin's config schema, by plugin name.
func (c *Client) PluginSchemas(ctx context.Context) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	_, err := c.getJSON(ctx, http.MethodGet, "/api/internal/plugin-schemas", nil, nil, false, &out)
	return out, err
}

// PluginMetadata returns a plugin's description and schemas, as JSON.
func (c *Client) PluginMetadata(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.getJSON(ctx, http.MethodGet, "/api/internal/plugin/"+pathEscape(name)+"/metadata", nil, nil, false, &out)
	return out, err
}
