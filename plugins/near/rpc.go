package near

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// platform names NEAR in errors.
const platform = "near"

// maxBody bounds what is read of one answer; an execution outcome with many
// receipts is a few hundred kilobytes.
const maxBody = 8 << 20

type rpcClient struct {
	url string
	hc  *http.Client
}

// rpcError is a JSON-RPC error as nearcore answers it: a kind in name
// (HANDLER_ERROR, REQUEST_VALIDATION_ERROR, INTERNAL_ERROR), the precise
// cause, and data.
type rpcError struct {
	Name  string `json:"name"`
	Cause struct {
		Name string          `json:"name"`
		Info json.RawMessage `json:"info"`
	} `json:"cause"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	status  int
}

func (e *rpcError) Error() string {
	data := strings.TrimSpace(string(e.Data))
	if s := ""; json.Unmarshal(e.Data, &s) == nil {
		data = s
	}
	cause := e.Cause.Name
	if cause == "" {
		cause = e.Name
	}
	if data == "" || data == "null" {
		data = e.Message
	}
	return cause + ": " + data
}

// call sends one JSON-RPC request and returns its result, an *rpcError, or
// a *plugin.PlatformError for a failing transport or an answer that is not
// JSON-RPC.
func (c *rpcClient) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "metagov", "method": method, "params": params})
	if err != nil {
		return nil, fmt.Errorf("encoding near request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building near request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, plugin.CheckResponse(platform, nil, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, plugin.CheckResponse(platform, nil, err)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	// nearcore answers JSON-RPC errors with 200 or with a matching HTTP
	// status (400, 408, 500); both carry the envelope.
	if json.Unmarshal(raw, &env) == nil && (env.Error != nil || len(env.Result) > 0) {
		if env.Error != nil {
			env.Error.status = resp.StatusCode
			return nil, env.Error
		}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return env.Result, nil
		}
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if msg == "" {
		msg = resp.Status
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "the answer is not JSON-RPC: " + msg}
	}
	return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: msg}
}

// platformError turns an RPC failure into what the gateway answers: a
// refusal of the input (422, with field) for the causes the caller can
// change, a timeout (504) for TIMEOUT_ERROR, and a failure (502)
// otherwise.
func platformError(err error, rejected map[string]string) error {
	var re *rpcError
	var already *plugin.PlatformError
	if errors.As(err, &already) || !errors.As(err, &re) {
		return err
	}
	pe := &plugin.PlatformError{Platform: platform, Status: re.status, Message: re.Error(), Err: err}
	if pe.Status == http.StatusOK {
		pe.Status = 0
	}
	if field, ok := rejected[re.Cause.Name]; ok {
		pe.Rejected, pe.Field = true, field
	}
	if re.Cause.Name == "TIMEOUT_ERROR" || re.Name == "TIMEOUT_ERROR" {
		pe.Timeout = true
	}
	return pe
}
