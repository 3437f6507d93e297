package sendgrid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// platform names SendGrid in errors.
const platform = "sendgrid"

// sendMailInputSchema: the original's properties, now also required as it
// meant them, and plain_text_content; one of the two contents is required.
var sendMailInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"from_email": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "Address email being sent from: an address, or \"Name <address>\"; a verified Sender Identity."},
		"to_emails": {"oneOf": [
			{"type": "string", "minLength": 1, "maxLength": 1024},
			{"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 1024}}
		], "description": "Address email being sent to (an address or \"Name <address>\"), or a list of them; all receive one message together."},
		"subject": {"type": "string", "minLength": 1, "maxLength": 998, "description": "Subject of the email"},
		"html_content": {"type": "string", "minLength": 1, "maxLength": 1048576, "description": "Text of the email body in HTML format"},
		"plain_text_content": {"type": "string", "minLength": 1, "maxLength": 1048576, "description": "Text of the email body in plain text"}
	},
	"required": ["from_email", "to_emails", "subject"]
}`)

// sendMailOutputSchema keeps the original's {response: boolean}.
var sendMailOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"response": {"type": "boolean", "description": "True: SendGrid accepted the message for delivery (202)."},
		"message_id": {"type": "string", "description": "SendGrid's X-Message-Id for the message, when it gave one."}
	},
	"required": ["response"]
}`)

// Recipients is one address or a list.
type Recipients []string

// UnmarshalJSON reads a string or a list of strings.
func (r *Recipients) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*r = Recipients{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*r = many
	return nil
}

type sendMailParams struct {
	FromEmail        string     `json:"from_email"`
	ToEmails         Recipients `json:"to_emails"`
	Subject          string     `json:"subject"`
	HTMLContent      string     `json:"html_content"`
	PlainTextContent string     `json:"plain_text_content"`
}

type sendMailResult struct {
	Response  bool   `json:"response"`
	MessageID string `json:"message_id,omitempty"`
}

// address is SendGrid's email object.
type address struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// parseAddress reads "Name <a@b>" or "a@b"; what does not parse is sent as
// the address, for SendGrid to judge.
func parseAddress(s string) address {
	if a, err := mail.ParseAddress(s); err == nil {
		return address{Email: a.Address, Name: a.Name}
	}
	return address{Email: strings.TrimSpace(s)}
}

type content struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type personalization struct {
	To []address `json:"to"`
}

// mailSend is the body of POST /v3/mail/send.
type mailSend struct {
	Personalizations []personalization `json:"personalizations"`
	From             address           `json:"from"`
	Subject          string            `json:"subject"`
	Content          []content         `json:"content"`
}

// sendMail builds the message as the Mail helper did (every recipient in
// one personalization) and posts it. SendGrid wants text/plain first.
func (s *SendGrid) sendMail(ctx context.Context, _ *plugin.Call, in sendMailParams) (sendMailResult, error) {
	if in.HTMLContent == "" && in.PlainTextContent == "" {
		return sendMailResult{}, &plugin.InputError{Field: "/html_content", Message: "html_content or plain_text_content is required: the email needs a body"}
	}
	msg := mailSend{From: parseAddress(in.FromEmail), Subject: in.Subject}
	var to []address
	for _, r := range in.ToEmails {
		to = append(to, parseAddress(r))
	}
	msg.Personalizations = []personalization{{To: to}}
	if in.PlainTextContent != "" {
		msg.Content = append(msg.Content, content{Type: "text/plain", Value: in.PlainTextContent})
	}
	if in.HTMLContent != "" {
		msg.Content = append(msg.Content, content{Type: "text/html", Value: in.HTMLContent})
	}
	id, err := s.client.send(ctx, msg)
	if err != nil {
		return sendMailResult{}, err
	}
	return sendMailResult{Response: true, MessageID: id}, nil
}

type client struct {
	apiURL, key string
	hc          *http.Client
}

// send posts the message and returns SendGrid's message id.
func (c *client) send(ctx context.Context, msg mailSend) (string, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return "", fmt.Errorf("encoding sendgrid message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/v3/mail/send", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("building sendgrid request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return "", fmt.Errorf("sending mail: %w", refine(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted {
		// 200 is sandbox mode: valid, but not queued for delivery.
		return "", &plugin.PlatformError{Platform: platform, Status: resp.StatusCode,
			Message: fmt.Sprintf("SendGrid answered %d, not 202: the message was not queued (is sandbox mode on?)", resp.StatusCode)}
	}
	return resp.Header.Get("X-Message-Id"), nil
}

// sendgridError is SendGrid's error body.
type sendgridError struct {
	Errors []struct {
		Message string  `json:"message"`
		Field   *string `json:"field"`
		Help    any     `json:"help"`
	} `json:"errors"`
}

// refine reads SendGrid's {"errors": [{message, field, help}]} into the
// error's message and field. A 403 that names a field (an unverified from
// address) is a refusal of the input, like a 400; a 401 or another 403 is
// the key's fault, for the config to fix.
func refine(err error) error {
	pe, ok := errors.AsType[*plugin.PlatformError](err)
	if !ok || pe.Status == 0 {
		return err
	}
	var body sendgridError
	if json.Unmarshal([]byte(pe.Message), &body) != nil || len(body.Errors) == 0 {
		return pe
	}
	var msgs []string
	field := ""
	for _, e := range body.Errors {
		m := e.Message
		if e.Field != nil && *e.Field != "" {
			m = *e.Field + ": " + m
			if field == "" {
				field = parameterOf(*e.Field)
			}
		}
		msgs = append(msgs, m)
	}
	pe.Message = strings.Join(msgs, "; ")
	if pe.Status == http.StatusForbidden && field != "" {
		pe.Rejected = true
	}
	if pe.Rejected {
		pe.Field = field
	}
	if pe.Status == http.StatusUnauthorized || (pe.Status == http.StatusForbidden && !pe.Rejected) {
		pe.Message += " (SendGrid refused the API key: check api_key, or the gateway's " + SettingAPIKey + ")"
	}
	return pe
}

// parameterOf maps a SendGrid field, such as "personalizations.0.to.0.email"
// or "from.email", to the send-mail parameter it came from.
func parameterOf(field string) string {
	switch {
	case field == "from" || strings.HasPrefix(field, "from."):
		return "/from_email"
	case strings.HasPrefix(field, "personalizations"):
		return "/to_emails"
	case field == "subject":
		return "/subject"
	case strings.HasPrefix(field, "content"):
		return "/html_content"
	}
	return ""
}
