package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// cache keeps communities with their provisioned plugin instances, so the hot
// paths (actions, process reads) do not query SQL or re-provision plugins on
// every request. Any change drops the affected entry; changes made by other
// gateway processes drop everything via the config generation.
type cache struct {
	mu     sync.RWMutex
	bySlug map[string]*communityEntry
	byID   map[int64]*communityEntry
	// epoch increases on every drop, so a load that raced with a drop does
	// not put stale data back.
	epoch      uint64
	generation int64
	// procs caches process records; it is dropped with the communities,
	// since a community or instance change may remove processes.
	procs *processCache
}

// communityEntry is a community and its instances, read-only once built.
type communityEntry struct {
	community store.Community
	instances []*instance
}

// instance is a provisioned plugin instance.
type instance struct {
	row      store.PluginInstance
	typ      *pluginType
	slug     string // the community's
	hookSlug string // config's webhook_slug, if any
	inst     plugin.Instance
	// err is set when provisioning failed; calls on the instance report it.
	err error
}

func newCache(procs *processCache) *cache {
	return &cache{bySlug: map[string]*communityEntry{}, byID: map[int64]*communityEntry{}, procs: procs}
}

func (c *cache) get(slug string) (*communityEntry, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.bySlug[slug]
	return e, c.epoch, ok
}

func (c *cache) getByID(id int64) (*communityEntry, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.byID[id]
	return e, c.epoch, ok
}

func (c *cache) put(e *communityEntry, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	c.bySlug[e.community.Slug] = e
	c.byID[e.community.ID] = e
}

func (c *cache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.bySlug)
	clear(c.byID)
	c.procs.dropAll()
}

// observeGeneration drops everything when the generation moved, and
// reports whether it did.
func (c *cache) observeGeneration(gen int64) bool {
	c.mu.Lock()
	changed := gen != c.generation
	c.generation = gen
	c.mu.Unlock()
	if changed {
		c.dropAll()
	}
	return changed
}

// community returns the community with its provisioned instances.
func (g *Gateway) community(ctx context.Context, slug string) (*communityEntry, error) {
	e, err := g.loadCommunityBySlug(ctx, slug)
	if err == nil && !principalFrom(ctx).allows(e.community.ID) {
		return nil, newError(KindNotFound, CodeCommunityNotFound, "Community '%s' not found", slug)
	}
	return e, err
}

func (g *Gateway) loadCommunityBySlug(ctx context.Context, slug string) (*communityEntry, error) {
	if !storableText(slug) { // no slug is such text, and PostgreSQL would refuse the query
		return nil, newError(KindNotFound, CodeCommunityNotFound, "Community %q not found", slug)
	}
	e, epoch, ok := g.cache.get(slug)
	if ok {
		return e, nil
	}
	c, err := g.store.CommunityGetBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(KindNotFound, CodeCommunityNotFound, "Community '%s' not found", slug)
	}
	if err != nil {
		return nil, err
	}
	return g.loadCommunity(ctx, c, epoch)
}

// communityByID is community for callers that hold an id.
func (g *Gateway) communityByID(ctx context.Context, id int64) (*communityEntry, error) {
	if !principalFrom(ctx).allows(id) {
		return nil, newError(KindNotFound, CodeCommunityNotFound, "Community %d not found", id)
	}
	e, epoch, ok := g.cache.getByID(id)
	if ok {
		return e, nil
	}
	c, err := g.store.CommunityGetByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(KindNotFound, CodeCommunityNotFound, "Community %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return g.loadCommunity(ctx, c, epoch)
}

func (g *Gateway) loadCommunity(ctx context.Context, c store.Community, epoch uint64) (*communityEntry, error) {
	rows, err := g.store.PluginInstanceListByCommunity(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	e := &communityEntry{community: c}
	for _, row := range rows {
		typ, ok := g.types[row.Name]
		if !ok {
			// A plugin that was enabled once but is not built into this
			// binary; keep serving the rest.
			g.log.WarnContext(ctx, "plugin instance of an unknown plugin", slog.String("plugin", row.Name),
				slog.String("community", c.Slug), slog.Int64("instance_id", row.ID))
			continue
		}
		plain, err := g.openConfig(typ, row.Config)
		if err != nil {
			e.instances = append(e.instances, &instance{row: row, typ: typ, slug: c.Slug, err: err})
			continue
		}
		row.Config = plain
		// The result is cached for everyone: a caller that gives up must
		// not leave a provisioning error behind.
		e.instances = append(e.instances, g.provision(context.WithoutCancel(ctx), c.Slug, row, typ))
	}
	g.cache.put(e, epoch)
	return e, nil
}

// provision builds a plugin instance from its row. A failure is kept on the
// instance and reported when it is used, so one broken instance does not
// make its whole community unusable.
func (g *Gateway) provision(ctx context.Context, slug string, row store.PluginInstance, typ *pluginType) *instance {
	in := &instance{row: row, typ: typ, slug: slug, hookSlug: webhookSlug(row.Config)}
	in.inst, in.err = g.build(ctx, slug, row, typ, in.hookPath())
	return in
}

// build makes and provisions a plugin instance value.
func (g *Gateway) build(ctx context.Context, slug string, row store.PluginInstance, typ *pluginType, hookPath string) (plugin.Instance, error) {
	v := typ.info.New()
	p, ok := v.(plugin.Provisioner)
	if !ok {
		return v, nil
	}
	env := plugin.Env{
		Community:  slug,
		InstanceID: row.ID,
		PlatformID: row.PlatformID,
		Config:     row.Config,
		Logger: g.log.With(slog.String("plugin", typ.info.Name), slog.String("community", slug),
			slog.Int64("instance_id", row.ID)),
		HTTPClient: g.cfg.HTTPClient,
		Now:        g.cfg.Now,
		PublicURL:  g.cfg.PublicURL,
		HookPath:   hookPath,
		Settings:   g.cfg.Settings,
	}
	if err := p.Provision(ctx, env); err != nil {
		return nil, fmt.Errorf("provisioning plugin %s for community %s: %w", typ.info.Name, slug, err)
	}
	return v, nil
}

func (in *instance) hookPath() string {
	p := "/api/hooks/" + in.slug + "/" + in.row.Name
	if in.hookSlug != "" {
		p += "/" + in.hookSlug
	}
	return p
}

// webhookSlug reads the optional webhook_slug every plugin config may carry.
func webhookSlug(config json.RawMessage) string {
	var c struct {
		WebhookSlug string `json:"webhook_slug"`
	}
	// Exactly as validated: encoding/json would take "Webhook_Slug" too.
	_ = plugin.Unmarshal(config, &c)
	return c.WebhookSlug
}

// find returns the community's instance of a plugin. With several instances
// (several platform accounts), platformID chooses one.
func (e *communityEntry) find(name, platformID string) (*instance, error) {
	var found []*instance
	for _, in := range e.instances {
		if in.row.Name == name && (platformID == "" || in.row.PlatformID == platformID) {
			found = append(found, in)
		}
	}
	switch len(found) {
	case 0:
		if platformID != "" {
			return nil, newError(KindInvalid, "plugin_not_enabled",
				"Plugin '%s' with community_platform_id '%s' not enabled for community '%s'", name, platformID, e.label())
		}
		return nil, newError(KindInvalid, "plugin_not_enabled", "Plugin '%s' not enabled for community '%s'", name, e.label())
	case 1:
		return found[0], nil
	}
	return nil, newError(KindInvalid, "multiple_instances",
		"Plugin '%s' has multiple instances for community '%s'; choose one with the X-Metagov-Community-Platform-Id header", name, e.label())
}

// label names the community in messages the way the original did.
func (e *communityEntry) label() string {
	if e.community.ReadableName != "" {
		return e.community.ReadableName + " (" + e.community.Slug + ")"
	}
	return e.community.Slug
}

// ready returns the provisioned instance value or why there is none.
func (in *instance) ready() (plugin.Instance, error) {
	if in.err != nil {
		return nil, in.err
	}
	return in.inst, nil
}
