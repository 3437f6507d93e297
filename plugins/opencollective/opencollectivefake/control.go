package opencollectivefake

import (
	"net/http"
	"time"
)

// Request is one request the fake received, for assertions.
type Request struct {
	Header        http.Header
	Query         string
	OperationName string
	Variables     map[string]any
	// Fields are the operation's root fields, such as createWebhook.
	Fields []string
	// Errors are the parse and validation errors; empty for a valid query.
	Errors []string
}

// Stall makes every request wait d before it is answered (or until the
// client gives up), to test timeouts. Zero stops stalling.
func (f *Fake) Stall(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stall = d
}

// FailWith answers every request with status and body until called with
// status 0, to test HTTP errors.
func (f *Fake) FailWith(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failStatus, f.failBody = status, body
}

// FailField makes the root field (such as processExpense) answer a GraphQL
// error with message, in a 200 answer, until called with an empty message.
func (f *Fake) FailField(field, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if message == "" {
		delete(f.failFields, field)
		return
	}
	f.failFields[field] = message
}

// Requests returns the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

func (f *Fake) log(r Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}
