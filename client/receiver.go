package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Receiver is an http.Handler for what the gateway POSTs to a driver:
// process callbacks (to a process's callback_url) and events (to the event
// receiver). It
//
//   - verifies the Standard Webhooks signature (webhook-id,
//     webhook-timestamp within five minutes, webhook-signature) with the
//     gateway's secret, answering 401 to anything else;
//   - drops a delivery whose webhook-id it has already handled (the gateway
//     delivers at least once, and retries use the same id);
//   - passes on a process record only if its sequence is higher than that
//     of the last record of the process it passed on, since callbacks may
//     arrive out of order.
//
// The handlers are called one at a time. A handler's error answers 500, so
// the gateway retries the delivery later; the delivery then counts as not
// handled. Memory is bounded: it remembers the last MaxSeen webhook ids.
type Receiver struct {
	// OnProcess receives each newer process record.
	OnProcess func(ctx context.Context, p *Process) error
	// OnEvent receives each event once.
	OnEvent func(ctx context.Context, e *Event) error
	// MaxSeen is how many webhook ids are remembered (default 100000).
	MaxSeen int

	hooks  []*standardwebhooks.Webhook
	mu     sync.Mutex
	seen   map[string]bool
	order  []string
	latest map[int64]int64 // process id -> highest sequence passed on
}

// NewReceiver returns a receiver that accepts deliveries signed with any of
// the given whsec_ secrets (space-separated, as during a rotation).
func NewReceiver(secrets string) (*Receiver, error) {
	r := &Receiver{seen: map[string]bool{}, latest: map[int64]int64{}}
	for _, s := range strings.Fields(secrets) {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("metagov receiver: webhook secret: %w", err)
		}
		r.hooks = append(r.hooks, wh)
	}
	if len(r.hooks) == 0 {
		return nil, fmt.Errorf("metagov receiver: no webhook secret given")
	}
	return r, nil
}

// ServeHTTP handles one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 16<<20))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !r.verified(body, req.Header) {
		http.Error(w, "the signature does not verify", http.StatusUnauthorized)
		return
	}
	status, msg := r.handle(req.Context(), req.Header.Get("webhook-id"), body)
	if status == http.StatusOK {
		w.WriteHeader(status)
		return
	}
	http.Error(w, msg, status)
}

func (r *Receiver) verified(body []byte, h http.Header) bool {
	for _, wh := range r.hooks {
		if wh.Verify(body, h) == nil {
			return true
		}
	}
	return false
}

// handle passes a verified delivery on, at most once.
func (r *Receiver) handle(ctx context.Context, id string, body []byte) (int, string) {
	var probe struct {
		EventType *string `json:"event_type"`
		Sequence  *int64  `json:"sequence"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return http.StatusBadRequest, "the body is not a JSON object"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[id] {
		return http.StatusOK, ""
	}
	switch {
	case probe.EventType != nil:
		var e Event
		if err := json.Unmarshal(body, &e); err != nil {
			return http.StatusBadRequest, "reading the event: " + err.Error()
		}
		if r.OnEvent != nil {
			if err := r.OnEvent(ctx, &e); err != nil {
				return http.StatusInternalServerError, err.Error()
			}
		}
	case probe.Sequence != nil:
		var p Process
		if err := json.Unmarshal(body, &p); err != nil {
			return http.StatusBadRequest, "reading the process record: " + err.Error()
		}
		if p.Sequence > r.latest[p.ID] {
			if r.OnProcess != nil {
				if err := r.OnProcess(ctx, &p); err != nil {
					return http.StatusInternalServerError, err.Error()
				}
			}
			r.latest[p.ID] = p.Sequence
		}
	default:
		return http.StatusBadRequest, "neither an event nor a process record"
	}
	r.remember(id)
	return http.StatusOK, ""
}

// remember records a handled webhook id, forgetting the oldest beyond
// MaxSeen.
func (r *Receiver) remember(id string) {
	limit := r.MaxSeen
	if limit <= 0 {
		limit = 100000
	}
	r.seen[id] = true
	r.order = append(r.order, id)
	for len(r.order) > limit {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
}
