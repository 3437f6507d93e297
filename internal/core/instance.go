package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// PluginConfig names a plugin and the config to enable it with.
type PluginConfig struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
}

// preparedInstance is a validated, initialised plugin config waiting to be
// written: everything that can fail slowly (schema, platform calls in
// Initialize) has happened before the transaction starts.
type preparedInstance struct {
	typ        *pluginType
	existing   *store.PluginInstance // nil when the instance is new
	config     json.RawMessage       // in the clear, for the plugin
	stored     json.RawMessage       // with its secrets encrypted
	platformID string
	changed    bool
	changes    pluginrt.CallChanges
}

// prepareInstance validates a plugin config for a community and runs the
// plugin's Initialize when the instance is new or its config changed.
//
// Which instance the config is for is decided here, before anything is
// written: first by matchInstance, then, when Initialize reported a platform
// id (Call.SetPlatformID) that is another existing instance's, by that id:
// the config names that instance another way (a Loomio group by id rather
// than by handle), so it is prepared again as that instance's update, with
// its stored secrets and state, and Initialize runs a second time.
func (g *Gateway) prepareInstance(ctx context.Context, slug string, existing []store.PluginInstance, pc PluginConfig) (*preparedInstance, error) {
	typ, ok := g.types[pc.Name]
	if !ok {
		return nil, newError(KindInvalid, "unknown_plugin", "No such plugin registered: %s", pc.Name)
	}
	p, err := g.prepareFor(ctx, slug, typ, matchInstance(typ, existing, pc.Config), pc)
	if err != nil {
		return nil, err
	}
	var other *store.PluginInstance
	for i := range existing {
		if existing[i].Name == pc.Name && existing[i].PlatformID == p.platformID {
			other = &existing[i]
		}
	}
	if other == nil || p.existing != nil && p.existing.ID == other.ID {
		return p, nil
	}
	if p, err = g.prepareFor(ctx, slug, typ, other, pc); err != nil {
		return nil, err
	}
	if p.platformID != other.PlatformID {
		// The platform answered differently the second time (a handle
		// moved to another group meanwhile): nothing sure to write.
		return nil, newError(KindConflict, "platform_id_changed",
			"%s config: the platform account it names changed while it was being enabled (%s, then %s); try again", pc.Name, other.PlatformID, p.platformID)
	}
	return p, nil
}

// matchInstance finds the existing instance a config is an update of, as
// far as the config alone tells: the one whose platform id is the value of
// the config's Info.PlatformIDKey property or, failing that, the only one
// whose stored config has the same value there. The second rule is for a
// plugin whose Initialize reports a platform id other than the property
// (a Loomio group configured by handle is stored under its id): a config
// sent again as it was stored updates its instance, secrets kept. Nil means
// a new instance, unless Initialize's platform id says otherwise.
func matchInstance(typ *pluginType, existing []store.PluginInstance, config json.RawMessage) *store.PluginInstance {
	// The platform id may come from a default, so fill them in first.
	id := typ.platformID(typ.withDefaults(config))
	var alias *store.PluginInstance
	aliases := 0
	for i := range existing {
		if existing[i].Name != typ.info.Name {
			continue
		}
		if existing[i].PlatformID == id {
			return &existing[i]
		}
		if typ.platformID(existing[i].Config) == id {
			alias = &existing[i]
			aliases++
		}
	}
	if aliases == 1 {
		return alias
	}
	return nil
}

// prepareFor validates a plugin config as an update of the existing
// instance match, or as a new instance when match is nil, and runs the
// plugin's Initialize when the instance is new or its config changed.
func (g *Gateway) prepareFor(ctx context.Context, slug string, typ *pluginType, match *store.PluginInstance, pc PluginConfig) (*preparedInstance, error) {
	p := &preparedInstance{typ: typ, existing: match, changed: true}
	var existingPlain json.RawMessage
	if match != nil {
		p.platformID = match.PlatformID
		var err error
		if existingPlain, err = g.openConfig(typ, match.Config); err != nil {
			return nil, err
		}
	}
	incoming, kept, err := typ.restoreRedacted(pc.Config, existingPlain)
	if err != nil {
		return nil, err
	}
	if incoming, err = typ.fillGenerated(incoming, existingPlain); err != nil {
		return nil, err
	}
	config, err := typ.validateConfig(incoming)
	if err != nil {
		return nil, err
	}
	if err := typ.checkDestinations(existingPlain, config, kept); err != nil {
		return nil, err
	}
	p.config = config
	if p.existing == nil {
		// A generated property may be the platform id.
		p.platformID = typ.platformID(config)
	}
	if p.stored, err = g.sealConfig(typ, config); err != nil {
		return nil, err
	}
	if p.existing != nil && plugin.JSONEqual(existingPlain, config) {
		p.changed = false
		return p, nil
	}
	row := store.PluginInstance{Name: pc.Name, PlatformID: p.platformID, Config: config}
	if p.existing != nil {
		row.ID, row.CommunityID = p.existing.ID, p.existing.CommunityID
	}
	in := &instance{row: row, typ: typ, slug: slug, hookSlug: webhookSlug(config)}
	v, err := g.build(ctx, slug, row, typ, in.hookPath())
	if err != nil {
		// A config the schema accepted but the plugin cannot hold (a number
		// too large for its field) is still the caller's config at fault.
		var inputErr *plugin.InputError
		if errors.As(err, &inputErr) {
			return nil, &Error{Kind: KindInvalid, Code: "invalid_config", Field: inputErr.Field, Err: err,
				Detail: fmt.Sprintf("%s config error: %s", pc.Name, inputErr.Message)}
		}
		return nil, fromPlugin(pc.Name, err)
	}
	if ini, ok := v.(plugin.Initializer); ok {
		call := pluginrt.NewCall(nil, nil, g.cfg.Now)
		if p.existing != nil {
			call = g.newCall(in)
		}
		if err := ini.Initialize(ctx, call); err != nil {
			return nil, fromPlugin(pc.Name, fmt.Errorf("initializing: %w", err))
		}
		p.changes = pluginrt.Changes(call)
		if id := p.changes.PlatformID; id != "" {
			if typ.info.PlatformIDKey == "" {
				return nil, fmt.Errorf("plugin %s reported a platform id but declares no Info.PlatformIDKey", pc.Name)
			}
			p.platformID = id
		}
		for _, w := range p.changes.Warnings {
			g.log.WarnContext(ctx, "plugin warning", slog.String("plugin", pc.Name), slog.String("community", slug), slog.String("warning", w))
		}
	}
	return p, nil
}

// validateConfig fills the config's defaults and checks it against the
// plugin's schema. A missing config is an empty object.
func (t *pluginType) validateConfig(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage(`{}`)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, invalidJSON("invalid_config", t.info.Name+" config", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, &Error{Kind: KindInvalid, Code: "invalid_config", Detail: fmt.Sprintf("%s config must be a JSON object", t.info.Name)}
	}
	t.config.applyDefaults(doc)
	if errs := t.config.validate(doc); len(errs) > 0 {
		return nil, &Error{Kind: KindInvalid, Code: "invalid_config", Field: errs[0].Field,
			Detail: fmt.Sprintf("%s config validation error: %s", t.info.Name, describe(errs))}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding %s config: %w", t.info.Name, err)
	}
	return out, nil
}

// withDefaults returns a config with its schema defaults filled in, not
// validated.
func (t *pluginType) withDefaults(raw json.RawMessage) json.RawMessage {
	doc, err := decodeJSON(orEmptyObject(raw))
	if err != nil {
		return raw
	}
	t.config.applyDefaults(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		return raw
	}
	return out
}

// platformID reads the config property that identifies the platform account.
func (t *pluginType) platformID(config json.RawMessage) string {
	if t.info.PlatformIDKey == "" {
		return ""
	}
	var m map[string]any
	_ = unmarshalExact(config, &m)
	switch v := m[t.info.PlatformIDKey].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// apply writes a prepared instance in tx and returns its row.
func (g *Gateway) apply(ctx context.Context, tx *store.Tx, c store.Community, p *preparedInstance) (store.PluginInstance, error) {
	var row store.PluginInstance
	var err error
	switch {
	case p.existing == nil:
		row, err = tx.PluginInstanceInsert(ctx, &store.PluginInstanceInsertParams{
			CommunityID: c.ID, Name: p.typ.info.Name, PlatformID: p.platformID, Config: p.stored,
		})
		if isConflict(err) {
			return row, newError(KindConflict, "plugin_exists", "plugin %s is already enabled for community %s", p.typ.info.Name, c.Slug)
		}
	case p.changed:
		row = *p.existing
		row.Config = p.stored
		if p.platformID != row.PlatformID {
			// Initialize found the config's account to be another one than
			// the instance's (one enabled before its plugin reported ids,
			// a handle moved): the instance follows its config.
			row.PlatformID = p.platformID
			err = tx.PluginInstanceUpdatePlatformID(ctx, row.ID, p.platformID)
			if isConflict(err) {
				return row, newError(KindConflict, "plugin_exists", "plugin %s is already enabled for community %s with community_platform_id %s",
					p.typ.info.Name, c.Slug, p.platformID)
			}
			if err != nil {
				return row, err
			}
		}
		err = tx.PluginInstanceUpdateConfig(ctx, row.ID, p.stored)
	default:
		return *p.existing, nil
	}
	if err != nil {
		return row, err
	}
	if err := g.putState(ctx, tx, row.ID, p.changes); err != nil {
		return row, err
	}
	if err := g.linkAccounts(ctx, tx, c, row.Name, row.PlatformID, p.changes.Links); err != nil {
		return row, err
	}
	for _, e := range p.changes.Events {
		if err := g.insertEvent(ctx, tx, c, row.Name, e); err != nil {
			return row, err
		}
	}
	return row, nil
}

// EnablePlugin enables a plugin for a community, or updates its config when
// it is enabled already (keeping its state and processes). created reports
// whether a new instance was made.
func (g *Gateway) EnablePlugin(ctx context.Context, slug, name string, config json.RawMessage) (view PluginView, created bool, err error) {
	entry, err := g.community(ctx, slug)
	if err != nil {
		return view, false, err
	}
	existing, err := g.store.PluginInstanceListByCommunity(ctx, entry.community.ID)
	if err != nil {
		return view, false, err
	}
	p, err := g.prepareInstance(ctx, slug, existing, PluginConfig{Name: name, Config: config})
	if err != nil {
		return view, false, err
	}
	var row store.PluginInstance
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		var err error
		if row, err = g.apply(ctx, tx, entry.community, p); err != nil {
			return err
		}
		action := "plugin.update"
		if p.existing == nil {
			action = "plugin.enable"
		}
		if p.changed {
			detail := map[string]any{"plugin": name, "id": row.ID, "config": json.RawMessage(p.typ.redactConfig(p.config))}
			if err := g.audit(ctx, tx, entry.community, action, detail); err != nil {
				return err
			}
		}
		return tx.ConfigGenerationBump(ctx)
	})
	g.cache.dropAll()
	if err != nil {
		return view, false, err
	}
	in := &instance{row: row, typ: p.typ, slug: slug}
	view = g.pluginView(in)
	view.Warnings = p.changes.Warnings
	return view, p.existing == nil, nil
}

// DisablePlugin removes a plugin instance by id. When slug is not empty the
// instance must belong to that community; its name must match. An instance
// with processes that have not completed is refused (409) unless force is
// set: then they are closed through the plugin where it can, and the rest
// completed with an error (see removeInstance). Once the removal is
// committed, a plugin.Disabler undoes its setup on the platform; what it
// could not do comes back as warnings, not as an error.
func (g *Gateway) DisablePlugin(ctx context.Context, slug, name string, id int64, force bool) (warnings []string, err error) {
	notFound := newError(KindNotFound, "plugin_not_found", "no %s plugin with id %d", name, id)
	if slug != "" {
		notFound.Detail += " in community " + slug
	}
	row, err := g.store.PluginInstanceGetByID(ctx, id)
	if isNotFound(err) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if row.Name != name || !principalFrom(ctx).allows(row.CommunityID) {
		return nil, notFound
	}
	if slug != "" {
		entry, err := g.community(ctx, slug)
		if err != nil {
			return nil, err
		}
		if entry.community.ID != row.CommunityID {
			return nil, notFound
		}
	}
	community, err := g.store.CommunityGetByID(ctx, row.CommunityID)
	if isNotFound(err) { // deleted with its community meanwhile
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if force {
		if err := g.closeForRemoval(ctx, row); err != nil {
			return nil, err
		}
	}
	disabling := g.disablers(ctx, []store.PluginInstance{row})
	err = g.writeTx(ctx, func(tx *store.Tx) error {
		if err := g.snapshot(ctx, tx, disabling); err != nil {
			return err
		}
		if err := g.removeInstance(ctx, tx, community, row, force); err != nil {
			return err
		}
		if err := g.audit(ctx, tx, community, "plugin.disable", map[string]any{"plugin": name, "id": id, "force": force}); err != nil {
			return err
		}
		return tx.ConfigGenerationBump(ctx)
	})
	g.cache.dropAll()
	if err != nil {
		return nil, err
	}
	return g.runDisablers(ctx, disabling), nil
}

// checkDuplicates refuses a plugin list that names one instance twice.
func (g *Gateway) checkDuplicates(prepared []*preparedInstance) error {
	var seen []string
	for _, p := range prepared {
		key := p.typ.info.Name + "\x00" + p.platformID
		if slices.Contains(seen, key) {
			return newError(KindInvalid, "duplicate_plugin", "plugin %s is listed twice", p.typ.info.Name)
		}
		seen = append(seen, key)
	}
	return nil
}
