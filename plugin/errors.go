package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// ErrNotFound reports that something the caller named does not exist, on the
// platform or in the plugin's state. The gateway answers 404.
var ErrNotFound = errors.New("not found")

// ErrUnauthorized reports a webhook that failed verification: a missing or
// wrong signature, a stale timestamp, a replay. The gateway answers 401 and
// runs nothing.
var ErrUnauthorized = errors.New("unauthorized")

// ErrEgressRefused is matched (errors.Is) by the error of a platform call
// the gateway's egress policy refused: the destination, or an address its
// name resolves to or a redirect leads to, is one the gateway may not reach
// (link-local or cloud metadata, or a private range on a hosted gateway).
// Nothing was sent. Wrap it as is (CheckResponse keeps it in
// PlatformError.Err): the gateway answers 502 egress_refused naming the rule,
// whatever else the plugin wrapped it in.
var ErrEgressRefused = errors.New("refused by the egress policy")

// SettingsError reports that the gateway lacks settings the plugin needs
// (an app's credentials, read with Env.Setting), such as GITHUB_APP_ID. It
// is the operator's to fix, not the caller's: the gateway answers 500 with
// code plugin_not_configured and a detail naming the settings (never their
// values).
type SettingsError struct {
	// Plugin names the plugin, such as "github".
	Plugin string
	// Settings are the names of the missing or invalid settings.
	Settings []string
	// Message says more, such as "give one of the two"; may be empty.
	Message string
}

func (e *SettingsError) Error() string {
	msg := fmt.Sprintf("%s is not configured on this gateway: set %s", e.Plugin, strings.Join(e.Settings, ", "))
	if e.Message != "" {
		msg += " (" + e.Message + ")"
	}
	return msg
}

// InputError reports invalid input that the schema could not catch, such as
// low >= high. The gateway answers 400 with the message and field.
type InputError struct {
	// Field is a JSON pointer to the offending value, such as "/low", or empty.
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// PlatformError reports that the platform failed or refused a call. The
// gateway answers 502 (504 when Timeout is set) with the platform's message,
// or 422 platform_rejected when Rejected is set: the platform is up and
// refused the input, which the caller must change, so it must not read as
// an outage.
type PlatformError struct {
	// Platform names the platform, such as "discourse".
	Platform string
	// Status is the platform's HTTP status, or 0 if there was no answer.
	Status int
	// Message is the platform's own error text.
	Message string
	// Timeout is set when the platform did not answer in time.
	Timeout bool
	// Rejected is set when the platform refused the input as invalid (such
	// as a 400 or 422 answer, or a GraphQL validation error) rather than
	// failing. CheckResponse sets it for 400 and 422.
	Rejected bool
	// Field is a JSON pointer to the input the platform refused, such as
	// "/title", when the plugin can tell; empty otherwise. It is only used
	// with Rejected.
	Field string
	// Err is the underlying transport error, if any.
	Err error
}

func (e *PlatformError) Error() string {
	switch {
	case e.Timeout:
		return fmt.Sprintf("%s did not answer in time: %s", e.Platform, e.Message)
	case e.Rejected && e.Status >= 300:
		return fmt.Sprintf("%s refused the input (%d): %s", e.Platform, e.Status, e.Message)
	case e.Rejected:
		return fmt.Sprintf("%s refused the input: %s", e.Platform, e.Message)
	case e.Status != 0:
		return fmt.Sprintf("%s answered %d: %s", e.Platform, e.Status, e.Message)
	default:
		return fmt.Sprintf("%s: %s", e.Platform, e.Message)
	}
}

func (e *PlatformError) Unwrap() error { return e.Err }

// CheckResponse turns the result of a platform call into a *PlatformError
// when it failed: a transport error (Timeout set when the call timed out) or
// an answer outside 2xx, whose body, trimmed, becomes the message; a 400 or
// 422 answer is Rejected (the platform refused the input; a plugin that can
// read the platform's error format may refine Message and set Field). It
// returns nil for a 2xx answer and leaves resp.Body unread then; otherwise
// it reads and closes the body.
func CheckResponse(platform string, resp *http.Response, err error) error {
	if err != nil {
		var netErr net.Error
		timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
		return &PlatformError{Platform: platform, Message: err.Error(), Timeout: timeout, Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = resp.Status
	}
	rejected := resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity
	return &PlatformError{Platform: platform, Status: resp.StatusCode, Message: msg, Rejected: rejected}
}
