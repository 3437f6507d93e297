package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/metagov/metagov-go/internal/core"
)

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		e := newAPIError(http.StatusBadRequest, "invalid_query", "query parameter %s must be a non-negative integer", name)
		e.body.Field = name
		return 0, e
	}
	return n, nil
}

// page reads the paging parameters of a listing: after (the last id seen)
// and limit.
func page(r *http.Request) (after int64, limit int, err error) {
	if after, err = queryInt(r, "after"); err != nil {
		return 0, 0, err
	}
	l, err := queryInt(r, "limit")
	return after, int(l), err
}

// writePage answers a listing with the cursor of its next page: the last id
// listed, or the cursor it was asked for when the page is empty.
func writePage(w http.ResponseWriter, name string, items any, lastID, after int64) {
	if lastID == 0 {
		lastID = after
	}
	writeJSON(w, http.StatusOK, map[string]any{name: items, "next": lastID})
}

// listDeliveries lists deliveries with their attempts. Filters: community,
// status, kind, process; paging: after (the last id seen) and limit.
func (h *handler) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := core.DeliveryFilter{Community: q.Get("community"), Status: q.Get("status"), Kind: q.Get("kind")}
	var err error
	if f.ProcessID, err = queryInt(r, "process"); err != nil {
		return err
	}
	if f.After, f.Limit, err = page(r); err != nil {
		return err
	}
	list, err := h.gateway.ListDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	writePage(w, "deliveries", list, last, f.After)
	return nil
}

func (h *handler) deliveryID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, newAPIError(http.StatusNotFound, "delivery_not_found", "no delivery with id %q", r.PathValue("id"))
	}
	return id, nil
}

func (h *handler) getDelivery(w http.ResponseWriter, r *http.Request) error {
	id, err := h.deliveryID(r)
	if err != nil {
		return err
	}
	v, err := h.gateway.GetDelivery(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// redeliver sends a delivery again (202: it is queued, not yet sent).
func (h *handler) redeliver(w http.ResponseWriter, r *http.Request) error {
	id, err := h.deliveryID(r)
	if err != nil {
		return err
	}
	v, err := h.gateway.Redeliver(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, v)
	return nil
}

// listEvents returns events after a cursor: ?after=<id>&limit=&community=.
func (h *handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := page(r)
	if err != nil {
		return err
	}
	events, err := h.gateway.ListEvents(r.Context(), core.EventFilter{
		Community: r.URL.Query().Get("community"), After: after, Limit: limit,
	})
	if err != nil {
		return err
	}
	var last struct {
		ID int64 `json:"id"`
	}
	if len(events) > 0 {
		_ = json.Unmarshal(events[len(events)-1], &last)
	}
	writePage(w, "events", events, last.ID, after)
	return nil
}

// healthz answers while the process serves HTTP.
func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database answers and its migrations are
// current, else 503.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := h.gateway.Ready(r.Context()); err != nil {
		h.log.WarnContext(r.Context(), "not ready", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Detail: "not ready: " + err.Error(), Code: "not_ready",
			RequestID: requestID(r.Context())})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// listAudit returns the audit log of the caller's communities after a
// cursor: ?after=<id>&limit=.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := page(r)
	if err != nil {
		return err
	}
	entries, err := h.gateway.ListAudit(r.Context(), after, limit)
	if err != nil {
		return err
	}
	var last int64
	if len(entries) > 0 {
		last = entries[len(entries)-1].ID
	}
	writePage(w, "entries", entries, last, after)
	return nil
}
