package core

import (
	"context"
	"sync"

	"github.com/metagov/metagov-go/internal/store"
)

// idBlockSize is how many process ids one reservation takes. Ids a gateway
// process reserved but did not use when it stopped are skipped.
const idBlockSize = 64

// idPool hands out process ids from blocks reserved in the database, so a
// process has its id before its start runs and is written once, in one
// transaction with everything the start caused.
type idPool struct {
	mu   sync.Mutex
	next int64
	end  int64 // exclusive
}

func (p *idPool) take(ctx context.Context, st *store.Store) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == p.end {
		var first int64
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			first, err = tx.ProcessIDsReserve(ctx, idBlockSize)
			return err
		})
		if err != nil {
			return 0, err
		}
		p.next, p.end = first, first+idBlockSize
	}
	id := p.next
	p.next++
	return id, nil
}
