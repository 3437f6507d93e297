package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/metagov/metagov-go/internal/delivery"
	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
)

const webhookSecretSetting = "webhook_secret"

// WebhookSecret returns the secrets that sign deliveries: the configured
// ones, else the one kept in the database, generated on first use. The kept
// one is encrypted with box, like plugin secrets; one written in the clear
// by an older version is encrypted in place the first time it is read.
func WebhookSecret(ctx context.Context, st *store.Store, box *secrets.Box, configured string, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	stored, err := st.SettingGet(ctx, webhookSecretSetting)
	switch {
	case errors.Is(err, store.ErrNotFound):
		sealed := box.Seal([]byte(delivery.NewSecret()))
		err = st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			stored, err = tx.SettingGetOrInsert(ctx, webhookSecretSetting, sealed)
			return err
		})
		if err != nil {
			return "", err
		}
		if stored == sealed && log != nil {
			log.Info("generated a secret to sign deliveries; show it with `metagov webhook-secret`, or set METAGOV_WEBHOOK_SECRET")
		}
	case err != nil:
		return "", err
	}
	if !secrets.IsSealed(stored) {
		// Compare and set: if another process got there first, its sealed
		// value holds the same secret.
		err := st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SettingReplace(ctx, webhookSecretSetting, stored, box.Seal([]byte(stored)))
			return err
		})
		if err != nil {
			return "", fmt.Errorf("encrypting the stored webhook secret: %w", err)
		}
		if log != nil {
			log.Info("encrypted the webhook secret kept in the database")
		}
		return stored, nil
	}
	plain, err := box.Open(stored)
	if err != nil {
		return "", fmt.Errorf("decrypting the stored webhook secret: %w", err)
	}
	return string(plain), nil
}

// resealWebhookSecret re-encrypts the stored webhook secret, if there is
// one, with the box's sealing key (and encrypts one kept in the clear).
func resealWebhookSecret(ctx context.Context, tx *store.Tx, box *secrets.Box) error {
	stored, err := tx.SettingGet(ctx, webhookSecretSetting)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	plain := []byte(stored)
	if secrets.IsSealed(stored) {
		if plain, err = box.Open(stored); err != nil {
			return fmt.Errorf("re-encrypting the stored webhook secret: %w", err)
		}
	}
	_, err = tx.SettingReplace(ctx, webhookSecretSetting, stored, box.Seal(plain))
	return err
}

// gauges measures the metrics that are read from the database when scraped.
type gauges struct{ st *store.Store }

func (g gauges) DeliveryLag(ctx context.Context) (time.Duration, error) {
	created, ok, err := g.st.DeliveryOldestPending(ctx)
	if err != nil || !ok {
		return 0, err
	}
	return time.Since(created), nil
}

func (g gauges) PendingJobs(ctx context.Context) (int64, error) { return g.st.JobsPending(ctx) }
