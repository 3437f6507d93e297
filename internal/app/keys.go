package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
)

// KeyFile is where the secret key lives when METAGOV_SECRET_KEY is not set:
// beside a SQLite database, or metagov.key in the working directory for
// PostgreSQL.
func KeyFile(database string) string {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return "metagov.key"
	}
	return database + ".key"
}

// SecretBox returns the box that encrypts plugin secrets and the stored
// webhook secret: from the
// configured keys (space-separated, the sealing key first), else from the
// key file, created with a new key on first start.
func SecretBox(configured, keyFile string, log *slog.Logger) (*secrets.Box, error) {
	if configured != "" {
		keys, err := secrets.DecodeKeys(configured)
		if err != nil {
			return nil, fmt.Errorf("METAGOV_SECRET_KEY: %w", err)
		}
		return secrets.NewBox(keys...)
	}
	keys, created, err := secrets.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	if created && log != nil {
		abs, _ := filepath.Abs(keyFile)
		log.Warn("generated the key that encrypts plugin secrets; back it up, or set METAGOV_SECRET_KEY",
			slog.String("key_file", abs))
	}
	return secrets.NewBox(keys...)
}

// RotateSecrets re-encrypts every plugin secret, and the webhook secret kept
// in the database, with a new key. With a key
// file, it generates the key and keeps the file able to open everything at
// every step: first the file holds the new key and the old ones, then the
// secrets are re-encrypted in one transaction, then the old keys go. With
// METAGOV_SECRET_KEY, put the new key first in it (the old ones after) and
// run this; then drop the old ones.
func RotateSecrets(ctx context.Context, st *store.Store, configured, keyFile string) (newKeyID string, err error) {
	var keys [][]byte
	if configured != "" {
		if keys, err = secrets.DecodeKeys(configured); err != nil {
			return "", err
		}
	} else {
		old, _, err := secrets.LoadOrCreateKeyFile(keyFile)
		if err != nil {
			return "", err
		}
		keys = append([][]byte{secrets.NewKey()}, old...)
		if err := secrets.WriteKeyFile(keyFile, keys...); err != nil {
			return "", err
		}
	}
	box, err := secrets.NewBox(keys...)
	if err != nil {
		return "", err
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.PluginInstanceListAll(ctx)
		if err != nil {
			return err
		}
		for _, row := range rows {
			resealed, changed, err := reseal(box, row.Config)
			if err != nil {
				return fmt.Errorf("re-encrypting plugin instance %d: %w", row.ID, err)
			}
			if changed {
				if err := tx.PluginInstanceUpdateConfig(ctx, row.ID, resealed); err != nil {
					return err
				}
			}
		}
		if err := resealWebhookSecret(ctx, tx, box); err != nil {
			return err
		}
		return tx.ConfigGenerationBump(ctx)
	})
	if err != nil {
		return "", err
	}
	if configured == "" {
		if err := secrets.WriteKeyFile(keyFile, keys[0]); err != nil {
			return "", err
		}
	}
	return secrets.KeyID(keys[0]), nil
}

// reseal re-encrypts every sealed string in a stored config with the box's
// sealing key.
func reseal(box *secrets.Box, config []byte) ([]byte, bool, error) {
	var doc any
	if err := json.Unmarshal(config, &doc); err != nil {
		return nil, false, err
	}
	changed := false
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch n := v.(type) {
		case string:
			if !secrets.IsSealed(n) {
				return n, nil
			}
			plain, err := box.Open(n)
			if err != nil {
				return nil, err
			}
			changed = true
			return box.Seal(plain), nil
		case map[string]any:
			for k, x := range n {
				nx, err := walk(x)
				if err != nil {
					return nil, err
				}
				n[k] = nx
			}
		case []any:
			for i, x := range n {
				nx, err := walk(x)
				if err != nil {
					return nil, err
				}
				n[i] = nx
			}
		}
		return v, nil
	}
	doc, err := walk(doc)
	if err != nil {
		return nil, false, err
	}
	out, err := json.Marshal(doc)
	return out, changed, err
}

// warnIfShared logs a warning for a SQLite database or key file that others
// than its owner may read: new ones are created 0600, but one made by an
// older version, or copied, keeps the mode it has.
func warnIfShared(log *slog.Logger, dialect store.Dialect, database, configuredKey string) {
	var files []string
	if dialect == store.SQLite {
		files = append(files, database)
	}
	if configuredKey == "" {
		files = append(files, KeyFile(database))
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			log.Warn("a file holding secrets is readable by others than its owner; chmod 600 it",
				slog.String("file", f), slog.String("mode", info.Mode().Perm().String()))
		}
	}
}
