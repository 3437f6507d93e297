package opencollective

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// maxResponseBytes bounds what the plugin reads from one API answer.
const maxResponseBytes = 8 << 20

// authHeader is the header that carries the credential: Personal-Token for a
// personal token, Authorization for an OAuth token.
type authHeader struct {
	name, value string
}

// client talks to the GraphQL API v2. It has a single endpoint; every call
// is a POST of {query, variables}.
type client struct {
	endpoint string
	auth     authHeader
	hc       *http.Client
}

func newClient(endpoint string, auth authHeader, hc *http.Client) *client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &client{endpoint: endpoint, auth: auth, hc: hc}
}

// graphQLRequest is the body of every call.
type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

// graphQLResponse is the body of an answer. Open Collective reports errors
// of a valid request in a 200 answer, beside whatever data it could produce.
type graphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// do sends one operation and decodes its data into out. A transport error or
// a non-2xx answer (an invalid query is a 400, a bad token a 401) becomes a
// *plugin.PlatformError with the body; so do GraphQL errors in a 200 answer,
// with their messages, since the data beside them is incomplete.
func (c *client) do(ctx context.Context, what, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(graphQLRequest{Query: query, Variables: vars})
	if err != nil {
		return fmt.Errorf("encoding %s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building %s request: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(c.auth.name, c.auth.value)
	resp, err := c.hc.Do(req)
	if err := plugin.CheckResponse(name, resp, err); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s: %w", what, plugin.CheckResponse(name, nil, err))
	}
	var gr graphQLResponse
	if err := json.Unmarshal(raw, &gr); err != nil {
		return fmt.Errorf("%s: %w", what, &plugin.PlatformError{Platform: name, Status: resp.StatusCode,
			Message: "answer is not GraphQL JSON: " + snippet(raw), Err: err})
	}
	if len(gr.Errors) > 0 {
		msgs := make([]string, 0, len(gr.Errors))
		for _, e := range gr.Errors {
			msgs = append(msgs, e.Message)
		}
		return fmt.Errorf("%s: %w", what, &plugin.PlatformError{Platform: name, Status: resp.StatusCode,
			Message: strings.Join(msgs, "; ")})
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(gr.Data, out); err != nil {
		return fmt.Errorf("%s: %w", what, &plugin.PlatformError{Platform: name, Status: resp.StatusCode,
			Message: "unexpected data: " + snippet(gr.Data), Err: err})
	}
	return nil
}

// snippet shortens a body for an error message.
func snippet(b []byte) string {
	const limit = 300
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
