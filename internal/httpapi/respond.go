package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/plugin"
)

// errorBody is every error the API answers: a human detail, a machine code,
// the field at fault when there is one, and the request id to find the logs.
type errorBody struct {
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// apiError is an error with the status to answer it with.
type apiError struct {
	status int
	body   errorBody
	header http.Header
}

func (e *apiError) Error() string { return e.body.Detail }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, body: errorBody{Code: code, Detail: fmt.Sprintf(format, args...)}}
}

var kindStatus = map[core.ErrorKind]int{
	core.KindInvalid:          http.StatusBadRequest,
	core.KindNotFound:         http.StatusNotFound,
	core.KindConflict:         http.StatusConflict,
	core.KindUnauthorized:     http.StatusUnauthorized,
	core.KindPlatform:         http.StatusBadGateway,
	core.KindPlatformTimeout:  http.StatusGatewayTimeout,
	core.KindPlatformRejected: http.StatusUnprocessableEntity,
	core.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	core.KindForbidden:        http.StatusForbidden,
	core.KindInternal:         http.StatusInternalServerError,
}

// writeError answers err as JSON. Errors meant for the caller keep their
// message; anything else is logged here, once, and answered generically so
// internals never leak.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae       *apiError
		ce       *core.Error
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ce):
		ae = &apiError{status: kindStatus[ce.Kind], body: errorBody{Detail: ce.Detail, Code: string(ce.Code), Field: ce.Field}}
		if ae.status == 0 {
			ae.status = http.StatusInternalServerError
		}
		if ae.status >= 500 {
			h.log.ErrorContext(r.Context(), "request failed", slog.Int("status", ae.status), slog.Any("error", err))
		}
		if ce.Kind == core.KindMethodNotAllowed {
			ae.header = http.Header{"Allow": {"GET"}}
		}
	case errors.As(err, &tooLarge):
		ae = newAPIError(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than %d bytes", tooLarge.Limit)
	case core.IsUnavailable(err):
		// The request was fine; the database will likely serve it later.
		h.log.ErrorContext(r.Context(), "database unavailable", slog.Any("error", err))
		ae = newAPIError(http.StatusServiceUnavailable, "database_unavailable",
			"the database cannot serve requests now (it refused the connection, is full or is shutting down); try again")
		ae.header = http.Header{"Retry-After": {"1"}}
	default:
		h.log.ErrorContext(r.Context(), "request failed", slog.Any("error", err))
		ae = newAPIError(http.StatusInternalServerError, "internal_error", "internal server error; the request id leads to the logs")
	}
	ae.body.RequestID = requestID(r.Context())
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	writeJSON(w, ae.status, ae.body)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRawJSON answers bytes that are already JSON.
func writeRawJSON(w http.ResponseWriter, status int, raw []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
	_, _ = w.Write([]byte("\n"))
}

// readBody reads the request body within the size limit.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, newAPIError(http.StatusBadRequest, "unreadable_body", "reading the request body: %v", err)
	}
	return body, nil
}

// decodeBody reads a JSON body into v; every route that takes a JSON body
// reads it here, so every route refuses bad JSON the same way. An empty body
// leaves v untouched. The body must be exactly one JSON value (a truncated
// "{" or a doubled "{}{}" is a 400 that says where), at most MaxJSONDepth
// deep, valid UTF-8, with no key twice in an object. v is decoded as
// [plugin.Unmarshal] decodes plugin input: keys match fields exactly, never
// by case folding, so a key no schema saw cannot fill a field.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if err := checkJSON(body, h.cfg.MaxJSONDepth); err != nil {
		return nil, err
	}
	if v != nil {
		if err := plugin.Unmarshal(body, v); err != nil {
			var in *plugin.InputError
			if errors.As(err, &in) {
				e := newAPIError(http.StatusBadRequest, "invalid_json", "%s", in.Message)
				e.body.Field = in.Field
				return nil, e
			}
			return nil, jsonError(body, err)
		}
	}
	return body, nil
}

// checkJSON rejects anything but one well-formed JSON value that is not too
// deeply nested, before anything else decodes it.
func checkJSON(body []byte, maxDepth int) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return jsonError(body, err)
		}
		// "\u0000" is valid JSON, but PostgreSQL stores it in neither text
		// nor jsonb: refused on every database alike.
		if tok.Kind() == '"' && strings.ContainsRune(tok.String(), 0) {
			e := newAPIError(http.StatusBadRequest, "invalid_json", "JSON strings and keys must not contain the NUL character (\\u0000)")
			e.body.Field = string(dec.StackPointer())
			return e
		}
		if dec.StackDepth() > maxDepth {
			return newAPIError(http.StatusBadRequest, "invalid_json", "JSON nesting is deeper than %d levels", maxDepth)
		}
		if dec.StackDepth() == 0 {
			break // the first value is complete
		}
	}
	end := dec.InputOffset()
	switch _, err := dec.ReadToken(); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		next := end + int64(len(body[end:])-len(bytes.TrimLeft(body[end:], " \t\r\n")))
		line, col := position(body, next)
		return newAPIError(http.StatusBadRequest, "invalid_json",
			"JSON parse error at line %d, column %d: the body holds more than one JSON value", line, col)
	default:
		return jsonError(body, err)
	}
}

// jsonError describes a JSON syntax error with its line and column, and the
// field it happened in.
func jsonError(body []byte, err error) error {
	var syntax *jsontext.SyntacticError
	if errors.As(err, &syntax) {
		e := newAPIError(http.StatusBadRequest, "invalid_json", "JSON parse error")
		e.body.Field = string(syntax.JSONPointer)
		switch {
		case errors.Is(syntax.Err, jsontext.ErrDuplicateName):
			e.body.Detail = fmt.Sprintf("JSON parse error: the key '%s' appears twice", e.body.Field)
		case errors.Is(syntax.Err, io.ErrUnexpectedEOF):
			e.body.Detail = "JSON parse error: the body ends before the JSON value does"
		default:
			line, col := position(body, syntax.ByteOffset)
			e.body.Detail = fmt.Sprintf("JSON parse error at line %d, column %d: %v", line, col, syntax.Err)
		}
		return e
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return newAPIError(http.StatusBadRequest, "invalid_json", "JSON parse error: the body ends before the JSON value does")
	}
	return newAPIError(http.StatusBadRequest, "invalid_json", "JSON parse error: %v", err)
}

func position(body []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
