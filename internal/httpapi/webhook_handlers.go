package httpapi

import (
	"net/http"

	"github.com/metagov/metagov-go/plugin"
)

// webhookRequest reads a webhook with its raw body, which signature checks
// need byte for byte.
func (h *handler) webhookRequest(w http.ResponseWriter, r *http.Request) (*plugin.WebhookRequest, error) {
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return &plugin.WebhookRequest{
		Method:     r.Method,
		Path:       r.URL.Path,
		Header:     r.Header.Clone(),
		Query:      r.URL.Query(),
		Body:       body,
		RemoteAddr: r.RemoteAddr,
		ReceivedAt: h.gateway.Now(),
	}, nil
}

func (h *handler) instanceWebhook(w http.ResponseWriter, r *http.Request) error {
	req, err := h.webhookRequest(w, r)
	if err != nil {
		return err
	}
	resp, err := h.gateway.ReceiveWebhook(r.Context(), r.PathValue("community"), r.PathValue("plugin"), r.PathValue("hookslug"), req)
	if err != nil {
		return err
	}
	writeWebhookResponse(w, resp)
	return nil
}

func (h *handler) platformWebhook(w http.ResponseWriter, r *http.Request) error {
	req, err := h.webhookRequest(w, r)
	if err != nil {
		return err
	}
	resp, err := h.gateway.ReceivePlatformWebhook(r.Context(), r.PathValue("plugin"), req)
	if err != nil {
		return err
	}
	writeWebhookResponse(w, resp)
	return nil
}

func writeWebhookResponse(w http.ResponseWriter, resp *plugin.WebhookResponse) {
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
