package core

import (
	"context"
	"regexp"

	"github.com/google/uuid"

	"github.com/metagov/metagov-go/internal/store"
)

// slugPattern keeps community slugs safe in URL paths and headers.
var slugPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

const maxReadableName = 200

// CommunityInput is the body of a community create or replace.
type CommunityInput struct {
	// Slug is the community's identifier; empty on create generates one.
	Slug string
	// ReadableName, when set, replaces the display name.
	ReadableName *string
	// Plugins, when set, is the complete list of enabled plugins: listed
	// ones are enabled or updated, unlisted ones removed. When nil, a
	// replace keeps the plugins as they are.
	Plugins *[]PluginConfig
	// Force removes unlisted plugins even when they have processes that have
	// not completed, as DisablePlugin does with force.
	Force bool
}

func (in *CommunityInput) validate() error {
	if !slugPattern.MatchString(in.Slug) {
		return &Error{Kind: KindInvalid, Code: "invalid_slug", Field: "/slug",
			Detail: "slug must be 1 to 100 letters, digits, '-' or '_'"}
	}
	if in.ReadableName != nil && len(*in.ReadableName) > maxReadableName {
		return &Error{Kind: KindInvalid, Code: "invalid_readable_name", Field: "/readable_name",
			Detail: "readable_name must be at most 200 bytes"}
	}
	return nil
}

// CreateCommunity creates a community (POST); a taken slug is a conflict.
// A limited key may not choose the slug: whether a slug is taken is
// another tenant's business, and any answer that depended on it would tell.
func (g *Gateway) CreateCommunity(ctx context.Context, in CommunityInput) (CommunityView, error) {
	if principalFrom(ctx).limited() && in.Slug != "" {
		return CommunityView{}, &Error{Kind: KindForbidden, Code: "slug_not_allowed", Field: "/slug",
			Detail: "a key limited to communities cannot choose the slug of a new community, whether or not it is in use: " +
				"leave slug out and the gateway generates one"}
	}
	if in.Slug == "" {
		in.Slug = uuid.NewString()
	}
	view, created, err := g.putCommunity(ctx, in, false)
	if err == nil && !created {
		err = newError(KindConflict, "slug_taken", "community with slug '%s' already exists", in.Slug)
	}
	return view, err
}

// PutCommunity creates a community or replaces its name and plugins (PUT).
// created reports which.
func (g *Gateway) PutCommunity(ctx context.Context, in CommunityInput) (view CommunityView, created bool, err error) {
	return g.putCommunity(ctx, in, true)
}

// putCommunity does both; with replace false an existing community is left
// untouched and reported as not created. Everything is validated and every
// plugin initialised before one transaction writes it all, so a failure
// changes nothing. The steps: find the community (and check the key may
// touch it), prepare the listed plugins, write it all, answer.
func (g *Gateway) putCommunity(ctx context.Context, in CommunityInput, replace bool) (CommunityView, bool, error) {
	if err := in.validate(); err != nil {
		return CommunityView{}, false, err
	}
	put := &communityPut{in: in, principal: principalFrom(ctx)}
	if err := g.findCommunity(ctx, put); err != nil {
		return CommunityView{}, false, err
	}
	if put.exists && !replace {
		return CommunityView{}, false, nil
	}
	if replace && put.principal.limited() && (!put.exists || !put.principal.allows(put.current.ID)) {
		// Slugs are global, so a limited key must not learn whether a slug
		// it does not hold exists: PUT answers the same for every such slug,
		// taken or free, and creates nothing. A limited key creates with POST
		// and a generated slug (see CreateCommunity).
		return CommunityView{}, false, newError(KindNotFound, CodeCommunityNotFound,
			"Community '%s' not found; a key limited to communities creates one with POST /api/internal/community without a slug", in.Slug)
	}
	if err := g.preparePlugins(ctx, put); err != nil {
		return CommunityView{}, false, err
	}
	err := g.writeTx(ctx, func(tx *store.Tx) error { return g.writeCommunity(ctx, tx, put) })
	g.cache.dropAll()
	if err != nil {
		return CommunityView{}, false, err
	}
	view, err := g.answerPut(ctx, put)
	return view, !put.exists, err
}

// communityPut is what a create or replace of a community gathers, step by
// step, before the one transaction that writes it.
type communityPut struct {
	in        CommunityInput
	principal *Principal
	// current is the community as it is, when it exists.
	current store.Community
	exists  bool
	// existing are its plugin instances as they are.
	existing []store.PluginInstance
	// prepared are the listed plugins, validated and initialised;
	// disabling the instances the list leaves out that have a Disable.
	prepared  []*preparedInstance
	disabling []*disabling
	// createdID is the id of the community the transaction created.
	createdID int64
}

// findCommunity reads the community the request names, if it exists.
func (g *Gateway) findCommunity(ctx context.Context, put *communityPut) error {
	current, err := g.store.CommunityGetBySlug(ctx, put.in.Slug)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	put.current, put.exists = current, true
	return nil
}

// preparePlugins reads the community's plugin instances and validates and
// initialises every listed plugin, outside the transaction since
// initialising may call the platform; with Force it closes the processes of
// the instances the list leaves out.
func (g *Gateway) preparePlugins(ctx context.Context, put *communityPut) error {
	if put.in.Plugins == nil {
		return nil
	}
	if put.exists {
		var err error
		if put.existing, err = g.store.PluginInstanceListByCommunity(ctx, put.current.ID); err != nil {
			return err
		}
	}
	for _, pc := range *put.in.Plugins {
		p, err := g.prepareInstance(ctx, put.in.Slug, put.existing, pc)
		if err != nil {
			return err
		}
		put.prepared = append(put.prepared, p)
	}
	if err := g.checkDuplicates(put.prepared); err != nil {
		return err
	}
	gone := removed(put.existing, put.prepared)
	put.disabling = g.disablers(ctx, gone)
	if put.in.Force {
		for _, row := range gone {
			if err := g.closeForRemoval(ctx, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeCommunity writes the community, its plugins and the audit record in
// tx.
func (g *Gateway) writeCommunity(ctx context.Context, tx *store.Tx, put *communityPut) error {
	c, err := g.writeCommunityRow(ctx, tx, put)
	if err != nil {
		return err
	}
	action := "community.replace"
	if !put.exists {
		action = "community.create"
	}
	detail := map[string]any{"readable_name": put.in.ReadableName}
	if put.in.Plugins != nil {
		names, err := g.writePlugins(ctx, tx, c, put)
		if err != nil {
			return err
		}
		detail["plugins"] = names
	}
	if err := g.audit(ctx, tx, c, action, detail); err != nil {
		return err
	}
	return tx.ConfigGenerationBump(ctx)
}

// writeCommunityRow creates the community (joining it to the limited key
// that creates it) or renames it, and returns it.
func (g *Gateway) writeCommunityRow(ctx context.Context, tx *store.Tx, put *communityPut) (store.Community, error) {
	in := put.in
	if put.exists {
		if in.ReadableName != nil && *in.ReadableName != put.current.ReadableName {
			if err := tx.CommunityUpdateName(ctx, put.current.ID, *in.ReadableName); err != nil {
				return put.current, err
			}
		}
		return put.current, nil
	}
	name := ""
	if in.ReadableName != nil {
		name = *in.ReadableName
	}
	c, err := tx.CommunityInsert(ctx, in.Slug, name)
	if isConflict(err) {
		return c, newError(KindConflict, "slug_taken", "community with slug '%s' already exists", in.Slug)
	}
	if err != nil {
		return c, err
	}
	put.createdID = c.ID
	if put.principal.limited() {
		// A community made with a limited key joins that key.
		if err := tx.APIKeyAddCommunity(ctx, put.principal.KeyID, c.ID); err != nil {
			return c, err
		}
	}
	return c, nil
}

// writePlugins stores the listed plugins and removes the instances the list
// leaves out (their Disable's snapshot first); it returns the plugins' names
// for the audit record.
func (g *Gateway) writePlugins(ctx context.Context, tx *store.Tx, c store.Community, put *communityPut) ([]string, error) {
	kept := map[int64]bool{}
	var names []string
	for _, p := range put.prepared {
		row, err := g.apply(ctx, tx, c, p)
		if err != nil {
			return nil, err
		}
		kept[row.ID] = true
		names = append(names, row.Name)
	}
	if err := g.snapshot(ctx, tx, put.disabling); err != nil {
		return nil, err
	}
	for _, row := range put.existing {
		if !kept[row.ID] {
			if err := g.removeInstance(ctx, tx, c, row, put.in.Force); err != nil {
				return nil, err
			}
		}
	}
	return names, nil
}

// answerPut runs the removed instances' Disable once the change committed
// and reads the community back, with the plugins' warnings.
func (g *Gateway) answerPut(ctx context.Context, put *communityPut) (CommunityView, error) {
	if !put.exists && put.principal.limited() {
		g.auth.drop()
		ctx = WithPrincipal(ctx, put.principal.with(put.createdID))
	}
	warnings := g.runDisablers(ctx, put.disabling)
	view, err := g.GetCommunity(ctx, put.in.Slug)
	if err == nil {
		withWarnings(&view, put.prepared)
		view.Warnings = warnings
	}
	return view, err
}

// removed lists the existing instances that a plugin list leaves out.
func removed(existing []store.PluginInstance, prepared []*preparedInstance) []store.PluginInstance {
	var out []store.PluginInstance
	for _, row := range existing {
		listed := false
		for _, p := range prepared {
			if p.existing != nil && p.existing.ID == row.ID {
				listed = true
			}
		}
		if !listed {
			out = append(out, row)
		}
	}
	return out
}

// withWarnings puts the notices of the plugins initialised by this request
// on their views.
func withWarnings(view *CommunityView, prepared []*preparedInstance) {
	for _, p := range prepared {
		if len(p.changes.Warnings) == 0 {
			continue
		}
		for i := range view.Plugins {
			v := &view.Plugins[i]
			if v.Name == p.typ.info.Name && (v.CommunityPlatformID == nil && p.platformID == "" || v.CommunityPlatformID != nil && *v.CommunityPlatformID == p.platformID) {
				v.Warnings = p.changes.Warnings
			}
		}
	}
}

// GetCommunity returns a community with its plugins.
func (g *Gateway) GetCommunity(ctx context.Context, slug string) (CommunityView, error) {
	entry, err := g.community(ctx, slug)
	if err != nil {
		return CommunityView{}, err
	}
	return entry.view(g), nil
}

// ShowCommunity is GetCommunity for GET: with LegacyDriver set, an admin
// key (or a local caller in protected mode) also sees the plugins' secrets,
// as the original showed them to everyone (PolicyKit reads a Loomio
// config's api_key that way).
func (g *Gateway) ShowCommunity(ctx context.Context, slug string) (CommunityView, error) {
	entry, err := g.community(ctx, slug)
	if err != nil {
		return CommunityView{}, err
	}
	v := entry.view(g)
	if p := principalFrom(ctx); g.cfg.LegacyDriver && (p == nil || p.Admin) {
		for i, in := range entry.instances {
			v.Plugins[i].Config = orEmptyObject(in.row.Config)
		}
	}
	return v, nil
}

// DeleteCommunity deletes a community with everything it owns. Its
// instances' plugin.Disablers then undo their setup on the platforms; what
// they could not do comes back as warnings.
func (g *Gateway) DeleteCommunity(ctx context.Context, slug string) (warnings []string, err error) {
	entry, err := g.community(ctx, slug)
	if err != nil {
		return nil, err
	}
	rows := make([]store.PluginInstance, 0, len(entry.instances))
	for _, in := range entry.instances {
		rows = append(rows, in.row)
	}
	disabling := g.disablers(ctx, rows)
	err = g.store.InTx(ctx, func(tx *store.Tx) error {
		if err := g.snapshot(ctx, tx, disabling); err != nil {
			return err
		}
		if err := tx.CommunityDelete(ctx, entry.community.ID); err != nil {
			if isNotFound(err) { // a concurrent DELETE won
				return newError(KindNotFound, CodeCommunityNotFound, "Community '%s' not found", slug)
			}
			return err
		}
		if err := g.audit(ctx, tx, entry.community, "community.delete", map[string]any{}); err != nil {
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

// Hooks lists the webhook receiver paths of a community's plugins that take
// webhooks.
func (g *Gateway) Hooks(ctx context.Context, slug string) ([]string, error) {
	entry, err := g.community(ctx, slug)
	if err != nil {
		return nil, err
	}
	hooks := []string{}
	for _, in := range entry.instances {
		if in.typ.takesWebhooks {
			hooks = append(hooks, in.hookPath())
		}
	}
	return hooks, nil
}
