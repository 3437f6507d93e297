// Package mailgunfake is a fake of Mailgun's Messages API for tests, built
// from Mailgun's API reference
// (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages
// and .../quickstart-guide/responses):
//
//   - POST /v3/{domain_name}/messages with HTTP Basic auth, user "api" and
//     the API key as password; a wrong or missing key is 401 with the plain
//     text body "Forbidden", as Mailgun answers.
//   - The body is application/x-www-form-urlencoded or multipart/form-data;
//     to, cc and bcc may repeat and hold comma-separated addresses.
//   - A missing from or to, no text or html, or an address that does not
//     parse is 400 with {"message": "..."} in Mailgun's words; an unknown
//     domain is 404 {"message": "Domain not found: <domain>"}.
//   - Success is 200 {"id": "<...@domain>", "message": "Queued. Thank you."}.
//
// It can also fail with any status or stall until the caller gives up.
package mailgunfake

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// Message is one accepted message, as the fake parsed it.
type Message struct {
	ID          string
	Domain      string
	ContentType string
	Form        map[string][]string
}

// Server is a running fake Mailgun.
type Server struct {
	// URL is the api_url to configure.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]string // domain → key
	messages []Message
	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs until its client gives up).
	platformfake.Faults
}

// New starts a fake Mailgun that knows domain with key; it stops when the
// test ends.
func New(t testing.TB, domain, key string) *Server {
	s := &Server{keys: map[string]string{domain: key}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/{domain}/messages", s.messagesHandler)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) messagesHandler(w http.ResponseWriter, r *http.Request) {
	if s.Inject(w, r, platformfake.Raw) {
		return
	}
	domain := r.PathValue("domain")
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	key, known := s.keys[domain]
	s.mu.Unlock()
	// Mailgun checks the key before the domain: any domain with a bad key
	// is "Forbidden".
	if !ok || user != "api" || pass == "" || (known && pass != key) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("Forbidden"))
		return
	}
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Domain not found: " + domain})
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "multipart/form-data":
		err = r.ParseMultipartForm(32 << 20)
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "from parameter is missing"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Invalid request body"})
		return
	}
	form := r.PostForm
	if msg := check(form); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": msg})
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("<20260301120000.%d.FAKE@%s>", len(s.messages)+1, domain)
	s.messages = append(s.messages, Message{ID: id, Domain: domain, ContentType: ct, Form: form})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "message": "Queued. Thank you."})
}

// check answers Mailgun's 400 message for an invalid message, or "".
func check(form map[string][]string) string {
	first := func(name string) string {
		if v := form[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if strings.TrimSpace(first("from")) == "" {
		return "from parameter is missing"
	}
	if _, err := mail.ParseAddress(first("from")); err != nil {
		return "from parameter is not a valid address. please check documentation"
	}
	if len(form["to"]) == 0 {
		return "to parameter is missing"
	}
	recipients := 0
	for _, name := range []string{"to", "cc", "bcc"} {
		for _, v := range form[name] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				return name + " parameter is not a valid address. please check documentation"
			}
			recipients += len(list)
		}
	}
	if recipients > 1000 {
		return "Too many recipients; max is 1000"
	}
	if first("text") == "" && first("html") == "" && first("template") == "" && first("amp-html") == "" {
		return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
	}
	return ""
}
