package sourcecred

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/metagov/metagov-go/plugin"
)

// userCredInputSchema: neither argument is required by the schema, as in the
// original; userCred asks for one of them. Drivers have sent the id both as
// a string and as a number, so both are accepted.
var userCredInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"username": {"type": "string", "description": "Name of the SourceCred identity."},
		"id": {"type": ["string", "integer"], "description": "The user's id on a platform the instance tracks (such as a Discord user id), matched against the identity's aliases."}
	}
}`)

// totalCredInputSchema takes nothing; extra parameters are ignored.
var totalCredInputSchema = plugin.Schema(`{"type": "object"}`)

// valueOutputSchema is the result of both actions.
var valueOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"value": {"type": "number", "description": "Total cred."}
	},
	"required": ["value"]
}`)

// userCredParams are the parameters of user-cred.
type userCredParams struct {
	Username string          `json:"username"`
	ID       json.RawMessage `json:"id"`
}

// platformID is the id as the aliases spell it: a string's contents, or a
// number's digits.
func (p userCredParams) platformID() string {
	if len(p.ID) == 0 || string(p.ID) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(p.ID, &s) == nil {
		return s
	}
	return string(p.ID)
}

// valueResult is the result of both actions.
type valueResult struct {
	Value float64 `json:"value"`
}

// userCred returns the total cred of the first account whose aliases carry
// the id or whose identity is named username. The arguments are checked
// before anything is fetched.
func (s *SourceCred) userCred(ctx context.Context, _ *plugin.Call, in userCredParams) (valueResult, error) {
	id := in.platformID()
	if in.Username == "" && id == "" {
		return valueResult{}, &plugin.InputError{Message: "Either a username or an id argument is required"}
	}
	file, err := s.client.accounts(ctx)
	if err != nil {
		return valueResult{}, err
	}
	for _, a := range file.Accounts {
		if id != "" && a.hasPlatformID(id) {
			return valueResult{Value: a.TotalCred}, nil
		}
		if in.Username != "" && a.Account.Identity.Name == in.Username {
			return valueResult{Value: a.TotalCred}, nil
		}
	}
	who := in.Username
	if who == "" {
		who = id
	}
	return valueResult{}, fmt.Errorf("%s not found in sourcecred instance: %w", who, plugin.ErrNotFound)
}

// totalCred returns the sum of every account's total cred.
func (s *SourceCred) totalCred(ctx context.Context, _ *plugin.Call, _ struct{}) (valueResult, error) {
	file, err := s.client.accounts(ctx)
	if err != nil {
		return valueResult{}, err
	}
	var total float64
	for _, a := range file.Accounts {
		total += a.TotalCred
	}
	return valueResult{Value: total}, nil
}
