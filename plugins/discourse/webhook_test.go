package discourse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
)

// sign signs like Discourse, written here independently of the code under
// test.
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	const (
		secret = "s3cret"
		server = "https://forum.example.org"
		body   = `{"post":{"id":1}}`
	)
	header := func(signature, instance string) http.Header {
		h := http.Header{}
		if signature != "" {
			h.Set(headerSignature, signature)
		}
		if instance != "" {
			h.Set(headerInstance, instance)
		}
		return h
	}
	tests := []struct {
		name   string
		server string
		header http.Header
		body   string
		ok     bool
	}{
		{name: "valid", server: server, header: header(sign(secret, body), server), body: body, ok: true},
		{name: "configured with a trailing slash", server: server + "/", header: header(sign(secret, body), server), body: body, ok: true},
		{name: "instance with a trailing slash", server: server, header: header(sign(secret, body), server+"/"), body: body, ok: true},
		{name: "unsigned", server: server, header: header("", server), body: body},
		{name: "wrong secret", server: server, header: header(sign("other", body), server), body: body},
		{name: "body changed", server: server, header: header(sign(secret, body), server), body: body + " "},
		{name: "no sha256= prefix", server: server, header: header(sign(secret, body)[7:], server), body: body},
		{name: "not hex", server: server, header: header("sha256=zz", server), body: body},
		{name: "uppercase hex is the same bytes", server: server, header: header("sha256="+upper(sign(secret, body)[7:]), server), body: body, ok: true},
		{name: "no instance", server: server, header: header(sign(secret, body), ""), body: body},
		{name: "other instance", server: server, header: header(sign(secret, body), "https://evil.example.org"), body: body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := verifyWebhook([]byte(secret), tt.server, tt.header, []byte(tt.body))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.True(t, errors.Is(err, plugin.ErrUnauthorized), "%v", err)
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("s", []byte("{}"), "sha256=00")
	f.Fuzz(func(t *testing.T, secret string, body []byte, signature string) {
		err := verifySignature([]byte(secret), signature, body)
		want := sign(secret, string(body))
		if err == nil && len(signature) != len(want) {
			t.Fatalf("accepted %q for %q", signature, want)
		}
		if err != nil && !errors.Is(err, plugin.ErrUnauthorized) {
			t.Fatalf("error does not wrap ErrUnauthorized: %v", err)
		}
	})
}
