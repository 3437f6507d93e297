package mailgun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// platform names Mailgun in errors.
const platform = "mailgun"

// sendMailInputSchema keeps the original's parameters (from, to, subject,
// text) and adds the Mailgun fields a message most often needs; to, cc and
// bcc take one string (addresses separated by commas, as Mailgun reads
// them) or a list.
var sendMailInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"from": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "Address email being sent from, such as \"Bot <bot@mg.example.org>\"."},
		"to": {"oneOf": [
			{"type": "string", "minLength": 1, "maxLength": 65536},
			{"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 1024}}
		], "description": "Address email being sent to: one string (commas separate several) or a list."},
		"cc": {"oneOf": [
			{"type": "string", "minLength": 1, "maxLength": 65536},
			{"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 1024}}
		], "description": "Carbon copy recipients, as for to."},
		"bcc": {"oneOf": [
			{"type": "string", "minLength": 1, "maxLength": 65536},
			{"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 1024}}
		], "description": "Blind carbon copy recipients, as for to."},
		"subject": {"type": "string", "maxLength": 998, "description": "Subject of the email"},
		"text": {"type": "string", "maxLength": 1048576, "description": "Text of the email body"},
		"html": {"type": "string", "maxLength": 1048576, "description": "HTML version of the email body"}
	},
	"required": ["from", "to"]
}`)

// sendMailOutputSchema is Mailgun's answer, as the original returned it.
var sendMailOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "string", "description": "The message's Message-Id, such as <20240203123456.1.ABC@mg.example.org>."},
		"message": {"type": "string", "description": "Mailgun's word on it, such as \"Queued. Thank you.\""}
	}
}`)

// Addresses is one or more addresses: a string (commas separate several)
// or a list of strings.
type Addresses []string

// UnmarshalJSON reads a string or a list of strings.
func (a *Addresses) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*a = Addresses{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*a = many
	return nil
}

type sendMailParams struct {
	From    string    `json:"from"`
	To      Addresses `json:"to"`
	CC      Addresses `json:"cc"`
	BCC     Addresses `json:"bcc"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
}

type sendMailResult struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// sendMail posts the message. A body is required, as Mailgun requires one
// of text and html; the original required text.
func (m *Mailgun) sendMail(ctx context.Context, _ *plugin.Call, in sendMailParams) (sendMailResult, error) {
	if in.Text == "" && in.HTML == "" {
		return sendMailResult{}, &plugin.InputError{Field: "/text", Message: "text (or html) is required: the email needs a body"}
	}
	form := url.Values{}
	form.Set("from", in.From)
	for _, f := range []struct {
		name  string
		addrs Addresses
	}{{"to", in.To}, {"cc", in.CC}, {"bcc", in.BCC}} {
		for _, a := range f.addrs {
			form.Add(f.name, a)
		}
	}
	for name, v := range map[string]string{"subject": in.Subject, "text": in.Text, "html": in.HTML} {
		if v != "" {
			form.Set(name, v)
		}
	}
	return m.client.send(ctx, form)
}

type client struct {
	apiURL, domain, key string
	hc                  *http.Client
}

// send posts the form to /v3/<domain>/messages.
func (c *client) send(ctx context.Context, form url.Values) (sendMailResult, error) {
	endpoint := c.apiURL + "/v3/" + url.PathEscape(c.domain) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return sendMailResult{}, fmt.Errorf("building mailgun request: %w", err)
	}
	req.SetBasicAuth("api", c.key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return sendMailResult{}, fmt.Errorf("sending mail: %w", refine(err))
	}
	defer resp.Body.Close()
	var out sendMailResult
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		if perr, ok := errors.AsType[*plugin.PlatformError](plugin.CheckResponse(platform, nil, err)); ok && perr.Timeout {
			return sendMailResult{}, fmt.Errorf("reading mailgun's answer: %w", perr)
		}
		return sendMailResult{}, &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "the answer is not Mailgun's JSON: " + err.Error()}
	}
	return out, nil
}

// refine reads Mailgun's error body, {"message": "..."}, into the error's
// message, and explains its 401 and 403 ("Forbidden"): the key is wrong or
// may not send for the domain, which the config must fix, not the input.
func refine(err error) error {
	pe, ok := errors.AsType[*plugin.PlatformError](err)
	if !ok || pe.Status == 0 {
		return err
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(pe.Message), &body) == nil && body.Message != "" {
		pe.Message = body.Message
	}
	switch pe.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		pe.Message += " (Mailgun refused the api_key: check it, and that api_url is the region of the domain)"
	case http.StatusNotFound:
		pe.Message += " (check domain_name, and that api_url is the region of the domain)"
	}
	if pe.Rejected {
		pe.Field = fieldOf(pe.Message)
	}
	return pe
}

// fieldOf tells which parameter a Mailgun 400 message names, such as "to
// parameter is not a valid address. please check documentation".
func fieldOf(msg string) string {
	lower := strings.ToLower(msg)
	for _, f := range []string{"from", "to", "cc", "bcc", "subject", "text", "html"} {
		if strings.HasPrefix(lower, f+" parameter") || strings.HasPrefix(lower, "'"+f+"' parameter") {
			return "/" + f
		}
	}
	return ""
}
