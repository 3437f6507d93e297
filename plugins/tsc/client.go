package tsc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/metagov/metagov-go/plugin"
)

// platform names TSC in errors.
const platform = "tsc"

// maxBody bounds what is read of one answer.
const maxBody = 8 << 20

type client struct {
	serverURL string
	hc        *http.Client
}

// get fetches GET <server_url>/api/<noun>/<id> and returns its JSON.
func (c *client) get(ctx context.Context, noun, id string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.serverURL+"/api/"+noun+"/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, fmt.Errorf("building tsc request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err == nil && resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s not found on the tsc server: %w", noun, id, plugin.ErrNotFound)
	}
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return nil, fmt.Errorf("fetching tsc %s: %w", noun, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading tsc %s: %w", noun, plugin.CheckResponse(platform, nil, err))
	}
	if len(body) > maxBody || !json.Valid(body) {
		return nil, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode,
			Message: fmt.Sprintf("the answer for %s %s is not JSON (or over %d bytes)", noun, id, maxBody)}
	}
	return json.RawMessage(body), nil
}

type userParams struct {
	UserID string `json:"user_id"`
}

type contractParams struct {
	ContractID string `json:"contract_id"`
}

type executionParams struct {
	ExecutionID string `json:"execution_id"`
}

type agreementParams struct {
	AgreementID string `json:"agreement_id"`
}

func (s *TSC) getUser(ctx context.Context, _ *plugin.Call, in userParams) (json.RawMessage, error) {
	return s.client.get(ctx, "user", in.UserID)
}

func (s *TSC) getContract(ctx context.Context, _ *plugin.Call, in contractParams) (json.RawMessage, error) {
	return s.client.get(ctx, "contract", in.ContractID)
}

func (s *TSC) getExecution(ctx context.Context, _ *plugin.Call, in executionParams) (json.RawMessage, error) {
	return s.client.get(ctx, "execution", in.ExecutionID)
}

func (s *TSC) getAgreement(ctx context.Context, _ *plugin.Call, in agreementParams) (json.RawMessage, error) {
	return s.client.get(ctx, "agreement", in.AgreementID)
}
