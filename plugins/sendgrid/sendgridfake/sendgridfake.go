// Package sendgridfake is a fake of SendGrid's v3 Mail Send API for tests,
// built from SendGrid's reference
// (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send,
// .../mail-send/errors and .../how-to-use-the-sendgrid-v3-api/errors):
//
//   - POST /v3/mail/send, "Authorization: Bearer <key>", a JSON body;
//     success is 202 Accepted with an empty body and an X-Message-Id header.
//   - A wrong or missing key is 401; a from address that is not a verified
//     Sender Identity 403; a body SendGrid cannot read or a message it
//     refuses 400. Every error body is {"errors": [{"message", "field",
//     "help"}]}, with SendGrid's own messages.
//   - The body is checked as SendGrid checks it: personalizations with at
//     least one to address each, valid addresses, from.email, a subject,
//     at least one content block with text/plain before text/html, at most
//     1000 recipients.
//
// It can also fail with any status or stall until the caller gives up.
package sendgridfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// Message is one accepted request: the decoded body and its message id.
type Message struct {
	ID   string
	Body map[string]any
}

// Server is a running fake SendGrid.
type Server struct {
	// URL is the api_url to configure.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	key      string
	senders  map[string]bool
	messages []Message
	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs until its client gives up).
	platformfake.Faults
}

// New starts a fake SendGrid accepting key and sending from the verified
// senders; it stops when the test ends.
func New(t testing.TB, key string, senders ...string) *Server {
	s := &Server{key: key, senders: map[string]bool{}}
	for _, a := range senders {
		s.senders[strings.ToLower(a)] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", s.send)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// Messages returns the accepted messages, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

const helpBase = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."

// apiError is one entry of SendGrid's errors list.
type apiError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

func fail(w http.ResponseWriter, status int, errs ...apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}

func fieldError(field, help, msg string) apiError {
	e := apiError{Message: msg, Field: &field}
	if help != "" {
		h := helpBase + help
		e.Help = &h
	}
	return e
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if s.Inject(w, r, platformfake.Raw) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.key || s.key == "" {
		fail(w, http.StatusUnauthorized, apiError{Message: "The provided authorization grant is invalid, expired, or revoked"})
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 30<<20))
	var msg map[string]any
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &msg) != nil {
		fail(w, http.StatusBadRequest, apiError{Message: "Bad Request"})
		return
	}
	if errs := check(msg); len(errs) > 0 {
		fail(w, http.StatusBadRequest, errs...)
		return
	}
	from, _ := msg["from"].(map[string]any)
	fromEmail, _ := from["email"].(string)
	s.mu.Lock()
	verified := s.senders[strings.ToLower(fromEmail)]
	s.mu.Unlock()
	if !verified {
		field := "from"
		fail(w, http.StatusForbidden, apiError{Field: &field, Message: "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. " +
			"Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements"})
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("fake-msg-%d", len(s.messages)+1)
	s.messages = append(s.messages, Message{ID: id, Body: msg})
	s.mu.Unlock()
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// validEmail is SendGrid's address check, approximately: one bare
// address.
func validEmail(v any) bool {
	s, ok := v.(string)
	if !ok || s == "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// check returns SendGrid's 400 errors for a message, in its words.
func check(msg map[string]any) []apiError {
	var errs []apiError
	ps, _ := msg["personalizations"].([]any)
	if len(ps) == 0 {
		errs = append(errs, fieldError("personalizations", "personalizations",
			"The personalizations field is required and must have at least one personalization."))
	}
	recipients := 0
	for i, p := range ps {
		pm, _ := p.(map[string]any)
		to, _ := pm["to"].([]any)
		if len(to) == 0 {
			errs = append(errs, fieldError(fmt.Sprintf("personalizations.%d.to", i), "personalizations.to",
				"The to array is required for all personalization objects, and must have at least one email object with a valid email address."))
		}
		for _, kind := range []string{"to", "cc", "bcc"} {
			list, _ := pm[kind].([]any)
			for j, a := range list {
				recipients++
				am, _ := a.(map[string]any)
				if !validEmail(am["email"]) {
					errs = append(errs, fieldError(fmt.Sprintf("personalizations.%d.%s.%d.email", i, kind, j), "personalizations."+kind,
						"Does not contain a valid address."))
				}
			}
		}
	}
	if recipients > 1000 {
		errs = append(errs, fieldError("personalizations", "personalizations", "There is a limit of 1000 total recipients (to + cc + bcc) per request."))
	}
	from, _ := msg["from"].(map[string]any)
	if from == nil || from["email"] == nil {
		errs = append(errs, fieldError("from.email", "from",
			`The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.`))
	} else if !validEmail(from["email"]) {
		errs = append(errs, fieldError("from.email", "from", "The from email does not contain a valid address."))
	}
	if subject, _ := msg["subject"].(string); subject == "" {
		errs = append(errs, fieldError("subject", "subject",
			"The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."))
	}
	contents, _ := msg["content"].([]any)
	if len(contents) == 0 {
		errs = append(errs, fieldError("content", "content",
			"Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required."))
	}
	for i, c := range contents {
		cm, _ := c.(map[string]any)
		if v, _ := cm["value"].(string); v == "" {
			errs = append(errs, fieldError(fmt.Sprintf("content.%d.value", i), "content.value",
				"The content value must be a string at least one character in length."))
		}
		if t, _ := cm["type"].(string); t == "text/plain" && i > 0 {
			errs = append(errs, fieldError("content", "content.type", "If present, text/plain content must be first, followed by text/html content, followed by any other content."))
		}
	}
	return errs
}
