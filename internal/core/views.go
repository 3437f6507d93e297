package core

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/metagov/metagov-go/internal/store"
)

// CommunityView is a community as the API shows it.
type CommunityView struct {
	Slug         string       `json:"slug"`
	ReadableName string       `json:"readable_name"`
	Plugins      []PluginView `json:"plugins"`
	// Warnings are notices about the plugins a replacement removed that
	// could not undo their setup on the platform (see plugin.Disabler);
	// absent otherwise.
	Warnings []string `json:"warnings,omitempty"`
}

// PluginView is a plugin instance as the API shows it.
type PluginView struct {
	ID                  int64           `json:"id"`
	Name                string          `json:"name"`
	Community           string          `json:"community"`
	CommunityPlatformID *string         `json:"community_platform_id"`
	AuthType            string          `json:"auth_type"`
	Config              json.RawMessage `json:"config"`
	// Warnings are the plugin's notices about the enable or config change
	// this view answers (Call.Warn in Initialize); absent otherwise.
	Warnings []string `json:"warnings,omitempty"`
}

// ProcessView is the process record: the body of GET on a process and of
// every callback. Sequence increases with every change, so a receiver can
// drop stale or duplicate callbacks.
type ProcessView struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Community string          `json:"community"`
	Status    string          `json:"status"`
	URL       *string         `json:"url"`
	Errors    json.RawMessage `json:"errors"`
	Outcome   json.RawMessage `json:"outcome"`
	Sequence  int64           `json:"sequence"`
}

// Location is the process's path in the API.
func (v ProcessView) Location() string {
	return "/api/internal/process/" + v.Name + "/" + strconv.FormatInt(v.ID, 10)
}

func processView(p store.Process, slug string) ProcessView {
	v := ProcessView{
		ID:        p.ID,
		Name:      p.Plugin + "." + p.Name,
		Community: slug,
		Status:    p.Status,
		Errors:    orEmptyObject(p.Errors),
		Outcome:   orEmptyObject(p.Outcome),
		Sequence:  p.Sequence,
	}
	if p.URL != "" {
		u := p.URL
		v.URL = &u
	}
	return v
}

func (g *Gateway) pluginView(in *instance) PluginView {
	v := PluginView{
		ID:        in.row.ID,
		Name:      in.row.Name,
		Community: in.slug,
		AuthType:  in.typ.authType(),
		Config:    in.typ.redactConfig(orEmptyObject(in.row.Config)),
	}
	if in.row.PlatformID != "" {
		id := in.row.PlatformID
		v.CommunityPlatformID = &id
	}
	return v
}

func (e *communityEntry) view(g *Gateway) CommunityView {
	v := CommunityView{Slug: e.community.Slug, ReadableName: e.community.ReadableName, Plugins: []PluginView{}}
	for _, in := range e.instances {
		v.Plugins = append(v.Plugins, g.pluginView(in))
	}
	return v
}

func (t *pluginType) authType() string {
	if t.info.AuthType == "" {
		return "none"
	}
	return t.info.AuthType
}

func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`)
	}
	return raw
}

// eventEnvelope is the body POSTed to the driver's event receiver, in the
// shape of the driver tutorial, plus an id to de-duplicate by. Build it with
// newEventEnvelope, so that pushed and pulled events look alike.
type eventEnvelope struct {
	ID        int64           `json:"id"`
	Community string          `json:"community"`
	Source    string          `json:"source"`
	EventType string          `json:"event_type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	Initiator json.RawMessage `json:"initiator"`
}

// unixSeconds renders a time as the original did: seconds since the epoch
// with a fraction, as a string.
func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

// newEventEnvelope renders a stored event for the driver, pushed or pulled.
func newEventEnvelope(id int64, community, source, eventType string, at time.Time, data, initiator json.RawMessage) (json.RawMessage, error) {
	who, err := eventInitiator(source, initiator)
	if err != nil {
		return nil, fmt.Errorf("encoding initiator of event %d: %w", id, err)
	}
	return json.Marshal(eventEnvelope{
		ID: id, Community: community, Source: source, EventType: eventType, Timestamp: unixSeconds(at),
		Data: orEmptyObject(data), Initiator: who,
	})
}

// eventInitiator gives every event an initiator with at least "user_id" (null
// when the platform did not say who acted) and "provider" (the plugin's name
// unless the plugin named another), keeping any other keys the plugin set:
// drivers such as PolicyKit read both keys unconditionally, and the
// original's "initiator": {} made them fail.
func eventInitiator(source string, stored json.RawMessage) (json.RawMessage, error) {
	who := map[string]any{}
	if len(stored) > 0 && string(stored) != "null" {
		if err := json.Unmarshal(stored, &who); err != nil {
			return nil, err
		}
	}
	if id, ok := who["user_id"]; !ok || id == "" {
		who["user_id"] = nil
	}
	if p, ok := who["provider"].(string); !ok || p == "" {
		who["provider"] = source
	}
	return json.Marshal(who)
}
