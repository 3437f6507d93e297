package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// ErrorKind classifies an Error so the HTTP layer can choose a status.
type ErrorKind int

// Error kinds.
const (
	// KindInvalid is bad input from the caller (400).
	KindInvalid ErrorKind = iota + 1
	// KindNotFound is a missing community, plugin, process or route (404).
	KindNotFound
	// KindConflict is a request that contradicts the current state (409).
	KindConflict
	// KindUnauthorized is a webhook that failed verification (401).
	KindUnauthorized
	// KindPlatform is a platform that failed or refused a call, or that the
	// egress policy refused to call (502).
	KindPlatform
	// KindPlatformTimeout is a platform that did not answer in time (504).
	KindPlatformTimeout
	// KindPlatformRejected is a platform that refused the caller's input as
	// invalid (422): the caller must change it; the platform is not down.
	KindPlatformRejected
	// KindForbidden is a request the caller's key may not make whatever the
	// state, such as a limited key choosing a community slug (403).
	KindForbidden
	// KindMethodNotAllowed is an operation the resource does not support
	// (405), such as closing a process whose plugin cannot close it.
	KindMethodNotAllowed
	// KindInternal is a failure on our side whose Detail is still safe to
	// show (500); the cause stays in Err and in the logs.
	KindInternal
)

// Code is an Error's stable name for programs: the code of the API's JSON
// error body.
type Code string

// The codes core branches on. Build these errors with the constants and test
// for them with the sentinels below (errors.Is), never with their spelling,
// so that a misspelt code does not compile.
const (
	// CodeCommunityNotFound: no community with that slug or id.
	CodeCommunityNotFound Code = "community_not_found"
	// CodeProcessNotFound: no process with that id (of that plugin and
	// name).
	CodeProcessNotFound Code = "process_not_found"
	// CodeInstanceGone: the plugin instance a change refers to was removed
	// meanwhile; nothing was written.
	CodeInstanceGone Code = "instance_gone"
	// CodeProcessChanged: a process was changed by another gateway process
	// between its read and the write of a change to it; nothing was
	// written.
	CodeProcessChanged Code = "process_changed"
)

// Sentinels of the codes core branches on: errors.Is(err, errProcessNotFound)
// holds for every *Error with that code (see Error.Is).
var (
	errCommunityNotFound = &Error{Kind: KindNotFound, Code: CodeCommunityNotFound}
	errProcessNotFound   = &Error{Kind: KindNotFound, Code: CodeProcessNotFound}
	errInstanceGone      = &Error{Kind: KindConflict, Code: CodeInstanceGone}
	errProcessChanged    = &Error{Kind: KindConflict, Code: CodeProcessChanged}
)

// Error is a failure the caller should hear about: its Detail is safe to
// show, its Code is stable for programs, its Field points at the culprit.
type Error struct {
	Kind   ErrorKind
	Code   Code
	Detail string
	Field  string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, sentinel) compare *Errors by code, so that an error
// matches the sentinel of its code whatever its detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error) //nolint:errorlint // Is compares target itself; errors.Is walks the chain
	return ok && t.Code != "" && t.Code == e.Code
}

func newError(kind ErrorKind, code Code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// fromPlugin turns what a plugin returned into an Error the caller may see;
// errors that are not part of the SDK's vocabulary stay internal (500).
func fromPlugin(pluginName string, err error) error {
	if err == nil {
		return nil
	}
	var inputErr *plugin.InputError
	var platformErr *plugin.PlatformError
	var refused *egress.RefusedError
	var settingsErr *plugin.SettingsError
	switch {
	case errors.As(err, &settingsErr):
		// The operator's to fix; the names of settings are safe to show.
		return &Error{Kind: KindInternal, Code: "plugin_not_configured", Detail: settingsErr.Error(), Err: err}
	case errors.As(err, &refused):
		// Whatever the plugin wrapped it in, a refusal says which rule, and
		// never quotes what a redirect answered.
		return &Error{Kind: KindPlatform, Code: "egress_refused", Detail: pluginName + ": " + refused.Error(), Err: err}
	case errors.Is(err, plugin.ErrEgressRefused):
		return &Error{Kind: KindPlatform, Code: "egress_refused", Detail: pluginName + ": " + plugin.ErrEgressRefused.Error(), Err: err}
	case errors.As(err, &inputErr):
		return &Error{Kind: KindInvalid, Code: "invalid_input", Detail: inputErr.Message, Field: inputErr.Field, Err: err}
	case errors.As(err, &platformErr):
		e := &Error{Kind: KindPlatform, Code: "platform_error", Detail: platformErr.Error(), Err: err}
		switch {
		case platformErr.Timeout:
			e.Kind, e.Code = KindPlatformTimeout, "platform_timeout"
		case platformErr.Rejected:
			e.Kind, e.Code, e.Field = KindPlatformRejected, "platform_rejected", platformErr.Field
		}
		return e
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindPlatformTimeout, Code: "platform_timeout", Detail: pluginName + " did not finish in time", Err: err}
	case errors.Is(err, plugin.ErrUnauthorized):
		return &Error{Kind: KindUnauthorized, Code: "unauthorized", Detail: err.Error(), Err: err}
	case errors.Is(err, plugin.ErrNotFound):
		return &Error{Kind: KindNotFound, Code: "not_found", Detail: err.Error(), Err: err}
	}
	return fmt.Errorf("plugin %s: %w", pluginName, err)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// IsUnavailable reports whether err is the database failing to serve a
// request that was fine (refused or dropped connections, a full disk, a
// closed store): a failure to answer 503 and retry, not a 500.
func IsUnavailable(err error) bool { return store.IsUnavailable(err) }

// errorCode is the code of an Error, or "internal" for anything else.
func errorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return "internal"
}

// mustJSON encodes values built here from JSON-safe parts.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}
