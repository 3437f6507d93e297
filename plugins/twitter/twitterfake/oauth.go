package twitterfake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// encode is RFC 5849 section 3.6 percent-encoding: everything but
// unreserved characters, hex in upper case.
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// authParams parses an "OAuth k="v", …" Authorization header.
func authParams(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, false
		}
		v = strings.Trim(v, `"`)
		kk, err1 := url.PathUnescape(k)
		vv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		out[kk] = vv
	}
	return out, true
}

// verify checks an OAuth 1.0a HMAC-SHA1 signature (RFC 5849 section 3.4)
// made with the consumer and token secrets, the consumer key and token, and
// a timestamp within five minutes of now. JSON bodies are not signed (only
// form bodies are, and X's v2 API takes JSON). It returns why it failed.
func (s *Server) verify(r *http.Request, now time.Time) string {
	p, ok := authParams(r.Header.Get("Authorization"))
	if !ok {
		return "no OAuth Authorization header"
	}
	if p["oauth_signature_method"] != "HMAC-SHA1" || p["oauth_version"] != "1.0" {
		return "not HMAC-SHA1 OAuth 1.0"
	}
	if p["oauth_consumer_key"] != s.creds.ConsumerKey || p["oauth_token"] != s.creds.AccessToken {
		return "unknown consumer key or token"
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return "stale timestamp"
	}
	nonce := p["oauth_nonce"]
	if nonce == "" || s.nonces[nonce] {
		return "nonce missing or used before"
	}
	// Parameters: the query's and the oauth_ ones but the signature.
	type kv struct{ k, v string }
	var params []kv
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			params = append(params, kv{encode(k), encode(v)})
		}
	}
	for k, v := range p {
		if k != "oauth_signature" && k != "realm" {
			params = append(params, kv{encode(k), encode(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	pairs := make([]string, len(params))
	for i, x := range params {
		pairs[i] = x.k + "=" + x.v
	}
	base := strings.ToUpper(r.Method) + "&" + encode("http://"+r.Host+r.URL.EscapedPath()) + "&" + encode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(encode(s.creds.ConsumerSecret)+"&"+encode(s.creds.AccessTokenSecret)))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(p["oauth_signature"])) {
		return "signature does not match"
	}
	s.nonces[nonce] = true
	return ""
}
