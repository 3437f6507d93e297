package opencollective

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
	Errors []graphQLError  `json:"errors"`
}

// graphQLError is one error of an answer; extensions.code is Apollo's
// (BAD_USER_INPUT, GRAPHQL_VALIDATION_FAILED, INTERNAL_SERVER_ERROR) or Open
// Collective's own (ValidationFailed, BadRequest, Forbidden, NotFound,
// Unauthorized, 2FA_REQUIRED, ...; server/graphql/errors.ts).
type graphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// rejectedCodes are the error codes by which Open Collective refuses the
// input itself rather than failing: the caller must change it (422).
// NotFound is one: it names an expense, conversation or account the caller
// gave. GRAPHQL_VALIDATION_FAILED is not: it means the plugin's own query
// is wrong.
var rejectedCodes = map[string]bool{"ValidationFailed": true, "BadRequest": true, "BAD_USER_INPUT": true, "NotFound": true}

// errTwoFactor marks a call refused because the account uses two-factor
// authentication (or the collective requires it) and the token was not
// pre-authorized for it.
var errTwoFactor = errors.New("two-factor authentication required")

// twoFactorHelp is what the operator must do about errTwoFactor.
const twoFactorHelp = "Open Collective requires two-factor authentication for this call and the token is not pre-authorized for it: " +
	"create the bot's personal token (or OAuth authorization) with \"Pre-authorize 2FA\" checked, and set it in the plugin config"

// platformError turns the GraphQL errors of an answer with the given HTTP
// status into a *plugin.PlatformError: Rejected when Open Collective refused
// the input (a validation error), wrapping errTwoFactor when the token
// lacks 2FA pre-authorization (lib/two-factor-authentication: the
// 2FA_REQUIRED code, or "This personal token is not pre-authorized for 2FA",
// a plain error). Model validation errors come as INTERNAL_SERVER_ERROR
// with a "Validation error: " message (Sequelize's); they are refusals too.
func platformError(status int, errs []graphQLError) *plugin.PlatformError {
	msgs := make([]string, 0, len(errs))
	rejected := true
	for _, e := range errs {
		msgs = append(msgs, e.Message)
		if e.Extensions.Code == "2FA_REQUIRED" || strings.Contains(e.Message, "pre-authorized for 2FA") {
			return &plugin.PlatformError{Platform: name, Status: status,
				Message: twoFactorHelp + " (" + e.Message + ")", Err: errTwoFactor}
		}
		if !rejectedCodes[e.Extensions.Code] && !strings.HasPrefix(e.Message, "Validation error") {
			rejected = false
		}
	}
	return &plugin.PlatformError{Platform: name, Status: status, Message: strings.Join(msgs, "; "), Rejected: rejected && len(errs) > 0}
}

// do sends one operation and decodes its data into out. A transport error or
// a non-2xx answer (an invalid query is a 400, a bad token a 401) becomes a
// *plugin.PlatformError with the body; so do GraphQL errors in a 200 answer,
// with their messages, since the data beside them is incomplete. Errors by
// which Open Collective refuses the input are Rejected (see platformError).
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
		var pe *plugin.PlatformError
		if errors.As(err, &pe) && pe.Status != 0 {
			// A 400 is Open Collective's answer to a query it cannot run
			// (its errors say whether the input or the query is at fault),
			// not in itself a refusal of the caller's input.
			var gr graphQLResponse
			if json.Unmarshal([]byte(pe.Message), &gr) == nil && len(gr.Errors) > 0 {
				err = platformError(pe.Status, gr.Errors)
			} else {
				pe.Rejected = false
			}
		}
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
		return fmt.Errorf("%s: %w", what, platformError(resp.StatusCode, gr.Errors))
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
