package sourcecred

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// platform names SourceCred in errors.
const platform = "sourcecred"

// maxAccountsSize bounds how much of accounts.json is read; a large
// community's file is a few megabytes.
const maxAccountsSize = 64 << 20

// missingMessage explains a 404 on accounts.json: the instance was built
// without the analysis step that writes it.
const missingMessage = "'output/accounts.json' file not present. Run 'yarn sourcecred analysis' when generating the sourcecred instance."

// client reads a published SourceCred instance.
type client struct {
	serverURL string // without a trailing slash
	hc        *http.Client
}

func newClient(serverURL string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &client{serverURL: serverURL, hc: hc}
}

// accounts fetches GET <server_url>/output/accounts.json, the file
// `sourcecred analysis` writes (see
// https://sourcecred.io/docs/beta/cli/analysis).
func (c *client) accounts(ctx context.Context) (*accountsFile, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.serverURL+"/output/accounts.json", nil)
	if err != nil {
		return nil, fmt.Errorf("building sourcecred request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err == nil && resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, fmt.Errorf("fetching sourcecred accounts: %w",
			&plugin.PlatformError{Platform: platform, Status: http.StatusNotFound, Message: missingMessage})
	}
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return nil, fmt.Errorf("fetching sourcecred accounts: %w", err)
	}
	defer resp.Body.Close()
	var file accountsFile
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAccountsSize)).Decode(&file); err != nil {
		// A body cut short by the timeout is a timeout, not a bad file.
		if perr := plugin.CheckResponse(platform, nil, err); isTimeout(perr) {
			return nil, fmt.Errorf("reading sourcecred accounts: %w", perr)
		}
		return nil, fmt.Errorf("reading sourcecred accounts: %w",
			&plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "accounts.json is not valid JSON: " + err.Error()})
	}
	return &file, nil
}

func isTimeout(err error) bool {
	pe, ok := errors.AsType[*plugin.PlatformError](err)
	return ok && pe.Timeout
}

// accountsFile is the part of accounts.json the actions read.
type accountsFile struct {
	Accounts []credAccount `json:"accounts"`
}

// credAccount is one account with its cred over all intervals.
type credAccount struct {
	Account struct {
		Identity struct {
			Name    string `json:"name"`
			Aliases []struct {
				Address string `json:"address"`
			} `json:"aliases"`
		} `json:"identity"`
	} `json:"account"`
	TotalCred float64 `json:"totalCred"`
}

// hasPlatformID reports whether one of the account's aliases ends in id.
// An alias address is a NUL-separated node address ending in a NUL, such as
// "N\x00sourcecred\x00discord\x00MEMBER\x00user\x00<id>\x00", so the
// platform's id is its second-to-last part.
func (a credAccount) hasPlatformID(id string) bool {
	for _, alias := range a.Account.Identity.Aliases {
		parts := strings.Split(alias.Address, "\x00")
		if len(parts) >= 2 && parts[len(parts)-2] == id {
			return true
		}
	}
	return false
}
