package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/metagov/metagov-go/internal/jobs"
	"github.com/metagov/metagov-go/internal/store"
)

const webhookSecretSetting = "webhook_secret"

// WebhookSecret returns the secrets that sign deliveries: the configured
// ones, else the one kept in the database, generated on first use.
func WebhookSecret(ctx context.Context, st *store.Store, configured string, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if stored, err := st.SettingGet(ctx, webhookSecretSetting); err == nil {
		return stored, nil
	}
	generated := jobs.NewSecret()
	var stored string
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		stored, err = tx.SettingGetOrInsert(ctx, webhookSecretSetting, generated)
		return err
	})
	if err != nil {
		return "", err
	}
	if stored == generated && log != nil {
		log.Info("generated a secret to sign deliveries; show it with `metagov webhook-secret`, or set METAGOV_WEBHOOK_SECRET")
	}
	return stored, nil
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
