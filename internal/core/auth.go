package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/metagov/metagov-go/internal/store"
)

// Principal is who makes a request: an API key, or a local caller while no
// key exists (protected mode). A nil Principal is the gateway itself (jobs,
// webhooks), which sees everything.
type Principal struct {
	// KeyID is the API key's id, zero for a local caller.
	KeyID int64
	// Admin principals reach every community and may create communities
	// for everyone.
	Admin bool
	// Communities are the community ids a non-admin key reaches.
	Communities map[int64]bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// allows reports whether p may see a community.
func (p *Principal) allows(communityID int64) bool {
	return p == nil || p.Admin || p.Communities[communityID]
}

// with returns a copy of p that also reaches a community.
func (p *Principal) with(communityID int64) *Principal {
	c := &Principal{KeyID: p.KeyID, Admin: p.Admin, Communities: map[int64]bool{communityID: true}}
	for id := range p.Communities {
		c.Communities[id] = true
	}
	return c
}

// limited reports whether p sees only some communities.
func (p *Principal) limited() bool { return p != nil && !p.Admin }

// APIKeyPrefix starts every API key, so a leaked one is recognisable.
const APIKeyPrefix = "mgk_"

// NewAPIKey returns a fresh key and the hash stored for it.
func NewAPIKey() (key, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	key = APIKeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return key, HashAPIKey(key)
}

// HashAPIKey is how a key is stored and looked up. Keys carry 256 random
// bits, so a fast hash suffices: there is nothing to brute-force.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// authCache remembers whether keys exist and which principal a key hash
// stands for; it is dropped with the community cache, on every change to
// keys made by any gateway process or the CLI.
type authCache struct {
	mu         sync.Mutex
	keysExist  *bool
	principals map[string]*Principal
}

func (a *authCache) drop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keysExist = nil
	a.principals = nil
}

// KeysExist reports whether any API key is live; while none is, the
// internal API serves only local callers.
func (g *Gateway) KeysExist(ctx context.Context) (bool, error) {
	g.auth.mu.Lock()
	if g.auth.keysExist != nil {
		defer g.auth.mu.Unlock()
		return *g.auth.keysExist, nil
	}
	g.auth.mu.Unlock()
	n, err := g.store.APIKeyCountLive(ctx)
	if err != nil {
		return false, err
	}
	exist := n > 0
	g.auth.mu.Lock()
	g.auth.keysExist = &exist
	g.auth.mu.Unlock()
	return exist, nil
}

// Authenticate returns the principal of an API key, or an Unauthorized
// error for an unknown or revoked one.
func (g *Gateway) Authenticate(ctx context.Context, key string) (*Principal, error) {
	hash := HashAPIKey(key)
	g.auth.mu.Lock()
	p, ok := g.auth.principals[hash]
	g.auth.mu.Unlock()
	if ok {
		return p, nil
	}
	k, err := g.store.APIKeyGetByHash(ctx, hash)
	if isNotFound(err) || (err == nil && k.RevokedAt != nil) {
		return nil, newError(KindUnauthorized, "invalid_api_key", "the API key is unknown or revoked")
	}
	if err != nil {
		return nil, err
	}
	p = &Principal{KeyID: k.ID, Admin: k.Admin, Communities: map[int64]bool{}}
	for _, id := range k.CommunityIDs {
		p.Communities[id] = true
	}
	g.auth.mu.Lock()
	if g.auth.principals == nil {
		g.auth.principals = map[string]*Principal{}
	}
	g.auth.principals[hash] = p
	g.auth.mu.Unlock()
	return p, nil
}

// APIKeyView describes a key, never the key itself.
type APIKeyView struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Prefix      string   `json:"prefix"`
	Admin       bool     `json:"admin"`
	Communities []string `json:"communities"`
	Revoked     bool     `json:"revoked"`
}

// CreateAPIKey makes a key for the given communities (none: an admin key)
// and returns it; it is shown once and stored only as a hash.
func CreateAPIKey(ctx context.Context, st *store.Store, name string, slugs []string) (string, int64, error) {
	var ids []int64
	for _, slug := range slugs {
		c, err := st.CommunityGetBySlug(ctx, slug)
		if isNotFound(err) {
			return "", 0, newError(KindNotFound, CodeCommunityNotFound, "Community '%s' not found", slug)
		}
		if err != nil {
			return "", 0, err
		}
		ids = append(ids, c.ID)
	}
	key, hash := NewAPIKey()
	var id int64
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.APIKeyInsert(ctx, &store.APIKeyInsertParams{
			Name: name, Prefix: key[:len(APIKeyPrefix)+6], Hash: hash, Admin: len(ids) == 0, CommunityIDs: ids,
		})
		if err != nil {
			return err
		}
		if err := tx.AuditInsert(ctx, &store.AuditEntry{Action: "apikey.create",
			Detail: mustJSON(map[string]any{"key_id": id, "name": name, "communities": slugs})}); err != nil {
			return err
		}
		return tx.ConfigGenerationBump(ctx)
	})
	return key, id, err
}

// ListAPIKeys describes every key.
func ListAPIKeys(ctx context.Context, st *store.Store) ([]APIKeyView, error) {
	keys, err := st.APIKeyList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]APIKeyView, 0, len(keys))
	for _, k := range keys {
		v := APIKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Admin: k.Admin, Revoked: k.RevokedAt != nil, Communities: []string{}}
		for _, cid := range k.CommunityIDs {
			if c, err := st.CommunityGetByID(ctx, cid); err == nil {
				v.Communities = append(v.Communities, c.Slug)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// RevokeAPIKey revokes a key; it stops working within a second everywhere.
func RevokeAPIKey(ctx context.Context, st *store.Store, id int64) error {
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.APIKeyRevoke(ctx, id); err != nil {
			return err
		}
		if err := tx.AuditInsert(ctx, &store.AuditEntry{Action: "apikey.revoke", Detail: mustJSON(map[string]any{"key_id": id})}); err != nil {
			return err
		}
		return tx.ConfigGenerationBump(ctx)
	})
	if isNotFound(err) {
		return newError(KindNotFound, "api_key_not_found", "no live API key with id %d", id)
	}
	return err
}
