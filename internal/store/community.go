package store

import (
	"context"
	"fmt"
	"time"
)

// Community is a group of people and the platforms it uses.
type Community struct {
	ID           int64
	Slug         string
	ReadableName string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const communityColumns = `id, slug, readable_name, created_at, updated_at`

func scanCommunity(row interface{ Scan(...any) error }) (Community, error) {
	var c Community
	err := row.Scan(&c.ID, &c.Slug, &c.ReadableName, &c.CreatedAt, &c.UpdatedAt)
	return c, interpretError(err)
}

// CommunityGetBySlug returns the community with the given slug.
func (q *Reader) CommunityGetBySlug(ctx context.Context, slug string) (Community, error) {
	c, err := scanCommunity(q.db.QueryRowContext(ctx,
		`SELECT `+communityColumns+` FROM communities WHERE slug = $1`, slug))
	if err != nil {
		return c, fmt.Errorf("fetching community %q: %w", slug, err)
	}
	return c, nil
}

// CommunityGetByID returns the community with the given id.
func (q *Reader) CommunityGetByID(ctx context.Context, id int64) (Community, error) {
	c, err := scanCommunity(q.db.QueryRowContext(ctx,
		`SELECT `+communityColumns+` FROM communities WHERE id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("fetching community %d: %w", id, err)
	}
	return c, nil
}

// CommunityInsert creates a community; a taken slug is ErrConflict.
func (q *Tx) CommunityInsert(ctx context.Context, slug, readableName string) (Community, error) {
	t := now()
	c, err := scanCommunity(q.db.QueryRowContext(ctx,
		`INSERT INTO communities (slug, readable_name, created_at, updated_at)
		 VALUES ($1, $2, $3, $3) RETURNING `+communityColumns, slug, readableName, t))
	if err != nil {
		return c, fmt.Errorf("inserting community %q: %w", slug, err)
	}
	return c, nil
}

// CommunityUpdateName sets a community's readable name.
func (q *Tx) CommunityUpdateName(ctx context.Context, id int64, readableName string) error {
	_, err := q.db.ExecContext(ctx,
		`UPDATE communities SET readable_name = $1, updated_at = $2 WHERE id = $3`, readableName, now(), id)
	if err != nil {
		return fmt.Errorf("updating community %d: %w", id, err)
	}
	return nil
}

// CommunityDelete deletes a community with its plugin instances, processes,
// events and deliveries.
func (q *Tx) CommunityDelete(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM communities WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting community %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting community %d: %w", id, ErrNotFound)
	}
	return nil
}

// ConfigGenerationBump records that communities or plugin instances changed,
// so that caches in every gateway process sharing the database are dropped.
func (q *Tx) ConfigGenerationBump(ctx context.Context) error {
	_, err := q.db.ExecContext(ctx, `UPDATE config_generation SET generation = generation + 1 WHERE id = 1`)
	if err != nil {
		return fmt.Errorf("bumping config generation: %w", err)
	}
	return nil
}

// ConfigGeneration returns the current config generation.
func (q *Reader) ConfigGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := q.db.QueryRowContext(ctx, `SELECT generation FROM config_generation WHERE id = 1`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("reading config generation: %w", interpretError(err))
	}
	return g, nil
}
