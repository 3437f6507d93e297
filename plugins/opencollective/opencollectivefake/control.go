package opencollectivefake

import (
	"net/http"
	"net/netip"
	"strings"
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

// FailField makes the root field (such as processExpense) answer a GraphQL
// error with message and extensions.code (such as ValidationFailed,
// Forbidden or RateLimitExceeded), in a 200 answer, until called with an
// empty message.
func (f *Fake) FailField(field, code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if message == "" {
		delete(f.failFields, field)
		return
	}
	f.failFields[field] = gqlError{Message: message, Code: code}
}

// SetHost makes name resolve to addr for the webhook URL check; Open
// Collective refuses a webhook whose host does not resolve, or resolves to
// a private or reserved address. The fake never asks DNS.
func (f *Fake) SetHost(name, addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[strings.ToLower(name)] = netip.MustParseAddr(addr)
}

// AddAdmin makes the bot an admin of the collective slug (such as
// OtherCollectiveSlug), so that a plugin config can move to it.
func (f *Fake) AddAdmin(slug string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accountBySlug(slug)
	a.members = append(a.members, member{"ADMIN", f.bot, f.now()})
}

// RequireTwoFactor turns two-factor authentication on for the bot's account
// (as a collective's "require 2FA for admins" policy makes its admins do):
// createWebhook and processExpense then refuse a token that was not created
// pre-authorized for 2FA, as Open Collective does.
func (f *Fake) RequireTwoFactor(tokensPreAuthorized bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.twoFactor, f.preAuthorized = true, tokensPreAuthorized
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
