// Package httpfuzz sends mutated HTTP requests to a running server and
// reports every answer of 500 or more. It mutates what a client controls:
// the method, the path and its parameters, the query, the headers and the
// body (structurally, by replacing JSON values and keys with awkward ones,
// and byte by byte). A run is reproducible from its seed, apart from the
// interleaving of its workers.
//
// The gateway's own run is TestHTTPFuzz in this package:
//
//	go test ./test/httpfuzz -run TestHTTPFuzz -httpfuzz.n=20000
package httpfuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Route is one route of the server under test and what a well-formed
// request to it looks like.
type Route struct {
	// Method and Pattern are the route as the server's mux declares it,
	// such as "PUT" and "/api/internal/community/{slug}".
	Method  string
	Pattern string
	// Params gives valid values for each {name} in Pattern; a parameter
	// without values gets mutated strings only.
	Params map[string][]string
	// Combos, when set, are values of several parameters that belong
	// together (a process type and one of its ids); they take precedence
	// over Params for the names they set.
	Combos []map[string]string
	// Bodies are well-formed bodies to mutate; none means the route is
	// sent mostly empty or random bodies.
	Bodies []string
	// Header is sent with most requests (and mutated or dropped with the
	// rest).
	Header http.Header
	// Queries are well-formed query strings, without "?".
	Queries []string
	// Sign, when set, signs most requests after mutation (a webhook
	// receiver's signature), so that mutated bodies reach the code behind
	// the signature check.
	Sign func(h http.Header, body []byte)
}

// Options configure a run.
type Options struct {
	// BaseURL is the server's address, such as http://127.0.0.1:8000.
	BaseURL string
	// Routes are fuzzed in turn, each about equally often.
	Routes []Route
	// N is the number of requests to send.
	N int
	// Seed makes the run reproducible (but for worker interleaving).
	Seed uint64
	// Workers send concurrently; default 4.
	Workers int
	// Timeout bounds each request; a request that times out is a failure.
	// Default 30s.
	Timeout time.Duration
	// Refresh, if set, runs every RefreshEvery requests (on one worker,
	// while the others go on), to restore state the run destroyed, such
	// as a deleted community.
	Refresh      func()
	RefreshEvery int
	// Choose gives, for some headers, the values one of which every
	// request carries (such as the API keys of several tenants); a
	// header-focused mutation may drop or replace it.
	Choose map[string][]string
	// Expected, if set, names the 5xx answers that are by design (such
	// as a 502 for a platform call the egress policy refused); they are
	// counted apart and are not failures.
	Expected func(status int, body []byte) bool
}

// Stats counts the answers of one route, or of the whole run.
type Stats struct {
	Requests int `json:"requests"`
	// Status5xx counts the 5xx answers that are failures; Expected5xx
	// those Options.Expected accepted.
	Status5xx   int         `json:"status_5xx"`
	Expected5xx int         `json:"expected_5xx"`
	NoAnswer    int         `json:"no_answer"`
	ByStatus    map[int]int `json:"by_status"`
}

func (s *Stats) add(status int, expected bool) {
	s.Requests++
	if s.ByStatus == nil {
		s.ByStatus = map[int]int{}
	}
	switch {
	case status == 0:
		s.NoAnswer++
	case status >= 500 && expected:
		s.Expected5xx++
	case status >= 500:
		s.Status5xx++
	}
	s.ByStatus[status]++
}

// Failure is one request answered with 5xx, or not answered.
type Failure struct {
	Route    string      `json:"route"`
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Header   http.Header `json:"header"`
	Body     string      `json:"body"`
	Status   int         `json:"status"`
	Response string      `json:"response"`
	Error    string      `json:"error,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	Total Stats `json:"total"`
	// PerRoute is keyed by "METHOD pattern" of the route the request was
	// derived from (its method may have been mutated).
	PerRoute map[string]*Stats `json:"per_route"`
	// Failures holds the first failures of each route and status.
	Failures []Failure `json:"failures"`
	// Unsendable counts mutations the HTTP client refused to send (such
	// as a header value with a newline); they are not requests.
	Unsendable int           `json:"unsendable"`
	Duration   time.Duration `json:"duration_ns"`
	// Panics is filled in by the caller, which sees the server's logs.
	Panics int `json:"panics"`
}

// Table renders the per-route counts, one line per route.
func (r *Report) Table() string {
	keys := make([]string, 0, len(r.PerRoute))
	for k := range r.PerRoute {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%-52s %8s %5s %8s %5s  statuses\n", "route", "requests", "5xx", "expected", "none")
	for _, k := range keys {
		s := r.PerRoute[k]
		fmt.Fprintf(&b, "%-52s %8d %5d %8d %5d  %s\n", k, s.Requests, s.Status5xx, s.Expected5xx, s.NoAnswer, statuses(s.ByStatus))
	}
	fmt.Fprintf(&b, "%-52s %8d %5d %8d %5d  %s\n", "TOTAL", r.Total.Requests, r.Total.Status5xx, r.Total.Expected5xx, r.Total.NoAnswer, statuses(r.Total.ByStatus))
	return b.String()
}

func statuses(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d:%d", c, m[c]))
	}
	return strings.Join(parts, " ")
}

// maxFailuresPerKind keeps a run that fails everywhere readable.
const maxFailuresPerKind = 3

// Run sends opts.N mutated requests and reports what came back.
func Run(ctx context.Context, opts Options) *Report {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	client := &http.Client{
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: opts.Workers, DisableCompression: true},
	}
	rep := &Report{PerRoute: map[string]*Stats{}}
	var (
		mu      sync.Mutex
		next    atomic.Int64
		kinds   = map[string]int{}
		wg      sync.WaitGroup
		started = time.Now()
	)
	record := func(key string, f *Failure, status int, expected bool) {
		mu.Lock()
		defer mu.Unlock()
		rep.Total.add(status, expected)
		s := rep.PerRoute[key]
		if s == nil {
			s = &Stats{}
			rep.PerRoute[key] = s
		}
		s.add(status, expected)
		if f != nil {
			kind := fmt.Sprintf("%s %d", key, status)
			if kinds[kind] < maxFailuresPerKind {
				kinds[kind]++
				rep.Failures = append(rep.Failures, *f)
			}
		}
	}
	for w := range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(w)))
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > opts.N {
					return
				}
				if opts.Refresh != nil && opts.RefreshEvery > 0 && i%opts.RefreshEvery == 0 {
					opts.Refresh()
				}
				route := opts.Routes[rng.IntN(len(opts.Routes))]
				key := route.Method + " " + route.Pattern
				req, body := build(ctx, rng, opts.BaseURL, route, opts.Choose)
				if req == nil {
					mu.Lock()
					rep.Unsendable++
					mu.Unlock()
					continue
				}
				status, resp, err := send(client, req)
				if err != nil && isClientRefusal(err) {
					mu.Lock()
					rep.Unsendable++
					mu.Unlock()
					continue
				}
				var f *Failure
				expected := status >= 500 && opts.Expected != nil && opts.Expected(status, resp)
				if status == 0 || (status >= 500 && !expected) {
					f = &Failure{Route: key, Method: req.Method, URL: req.URL.String(), Header: req.Header,
						Body: clip(string(body), 2000), Status: status, Response: clip(string(resp), 2000)}
					if err != nil {
						f.Error = err.Error()
					}
				}
				record(key, f, status, expected)
			}
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(started)
	return rep
}

func send(client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, raw, err
	}
	return resp.StatusCode, raw, nil
}

// isClientRefusal tells the client's own refusals (an invalid header value
// or method it would not send) from the server's failures.
func isClientRefusal(err error) bool {
	msg := err.Error()
	for _, s := range []string{"invalid header field", "invalid method", "net/http: invalid", "invalid URL", "invalid port"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// Parts of a request a mutation can focus on.
const (
	focusBody = iota
	focusPath
	focusMethod
	focusHeader
	focusQuery
	focusAll
)

// build makes one mutated request from a route. Most requests change one
// part and keep the rest well-formed, so that they get past routing and
// authentication to the code behind; some change everything.
func build(ctx context.Context, rng *rand.Rand, base string, route Route, choose map[string][]string) (*http.Request, []byte) {
	var focus int
	switch n := rng.IntN(100); {
	case n < 55:
		focus = focusBody
	case n < 70:
		focus = focusPath
	case n < 77:
		focus = focusMethod
	case n < 87:
		focus = focusHeader
	case n < 95:
		focus = focusQuery
	default:
		focus = focusAll
	}
	on := func(f int) bool { return focus == f || focus == focusAll }
	method := route.Method
	if on(focusMethod) {
		method = pick(rng, methods)
	}
	path := fillPath(rng, route, on(focusPath))
	if q := mutateQuery(rng, route.Queries, on(focusQuery)); q != "" {
		path += "?" + q
	}
	var body []byte
	if on(focusBody) {
		body = mutateBody(rng, route.Bodies)
	} else if len(route.Bodies) > 0 {
		body = []byte(pick(rng, route.Bodies))
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, nil
	}
	for k, vs := range route.Header {
		if on(focusHeader) && rng.IntN(4) == 0 {
			continue // dropped
		}
		for _, v := range vs {
			if on(focusHeader) && rng.IntN(3) == 0 {
				v = pick(rng, headerValues)
			}
			req.Header.Add(k, v)
		}
	}
	for k, vs := range choose {
		if on(focusHeader) && rng.IntN(4) == 0 {
			continue // dropped
		}
		req.Header.Set(k, pick(rng, vs))
	}
	if on(focusHeader) {
		for range 1 + rng.IntN(3) {
			req.Header.Set(pick(rng, headerNames), pick(rng, headerValues))
		}
	}
	if body != nil && (!on(focusHeader) || rng.IntN(2) == 0) {
		req.Header.Set("Content-Type", "application/json")
	}
	if route.Sign != nil && rng.IntN(8) != 0 {
		route.Sign(req.Header, body)
	}
	return req, body
}

var methods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "X-FUZZ", "POST "}

// segments are awkward path parameter values.
var segments = []string{
	"", "0", "-1", "1", "2", "00001", "9223372036854775807", "9223372036854775808", "99999999999999999999999", "1e3", "0x10",
	"%00", "..", "%2e%2e", "a%2Fb", "x.y.z", ".", "randomness.", ".random-int", "randomness..random-int", "%ff", "%",
	"ſ", "%C5%BF", "Ä", "%E2%80%AE", "<script>", "a b", "a+b", "~", "*", "null", "true", "-", "_", "UPPER",
	"randomness.delayed-stochastic-vote", "vote.poll", "vote.cast", "webhook", "testkit", "loomio", "discourse",
}

func fillPath(rng *rand.Rand, route Route, mutate bool) string {
	var combo map[string]string
	if len(route.Combos) > 0 {
		combo = pick(rng, route.Combos)
	}
	var b strings.Builder
	rest := route.Pattern
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}') + i
		b.WriteString(rest[:i])
		name := strings.TrimSuffix(rest[i+1:j], "...")
		rest = rest[j+1:]
		valid := route.Params[name]
		if v, ok := combo[name]; ok {
			valid = []string{v}
		}
		switch n := rng.IntN(10); {
		case len(valid) > 0 && (!mutate || n < 4):
			b.WriteString(url.PathEscape(pick(rng, valid)))
		case n < 9:
			b.WriteString(pick(rng, segments))
		default:
			b.WriteString(url.PathEscape(randomString(rng, 1+rng.IntN(300))))
		}
	}
	p := b.String()
	if !mutate {
		return p
	}
	switch rng.IntN(12) {
	case 0:
		p += "/"
	case 1:
		p = strings.Replace(p, "/", "//", 1+rng.IntN(2))
	case 2:
		p += "/extra"
	case 3:
		p = strings.ToUpper(p)
	case 4:
		p += "/" + strings.Repeat("a", 5000)
	}
	return p
}

var queryValues = []string{"", "0", "-1", "1", "1000000", "9223372036854775808", "abc", "ballots", "x", "1.5", "%00", "ſ", "my-community"}

func mutateQuery(rng *rand.Rand, seeds []string, mutate bool) string {
	q := ""
	if len(seeds) > 0 && (!mutate || rng.IntN(3) != 0) {
		q = pick(rng, seeds)
	}
	if !mutate {
		return q
	}
	if rng.IntN(3) != 0 {
		vals, err := url.ParseQuery(q)
		if err != nil {
			vals = url.Values{}
		}
		for range 1 + rng.IntN(3) {
			name := pick(rng, []string{"after", "limit", "include", "community", "status", "x", "AFTER", "limit"})
			vals.Add(name, pick(rng, queryValues))
		}
		q = vals.Encode()
	}
	if rng.IntN(10) == 0 {
		q += "&%zz=%"
	}
	return q
}

var headerNames = []string{
	"X-Metagov-Community", "X-Metagov-Community-Platform-Id", "Authorization", "X-Request-Id", "Content-Type",
	"Accept", "X-Test-Token", "X-Account", "webhook-id", "webhook-timestamp", "webhook-signature",
	"X-Hub-Signature-256", "X-Discourse-Event", "X-Discourse-Event-Signature", "X-Discourse-Event-Id",
	"Content-Encoding", "Transfer-Encoding", "X-Forwarded-For", "Origin",
}

var headerValues = []string{
	"", "my-community", "other", "nope", "x", "ſ", "Bearer ", "Bearer x", "Basic Zm9vOmJhcg==", "application/json",
	"text/plain", "multipart/form-data; boundary=x", "gzip", "chunked", "1", "-1", "99999999999999999999",
	"v1,AAAA", "sha256=00", strings.Repeat("a", 4000), "../../etc/passwd", "null", "0", "\t x \t",
}

// interesting JSON values, each valid JSON text.
var interesting = []string{
	`0`, `-1`, `1`, `2`, `60`, `2147483648`, `9007199254740993`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775808`, `-9223372036854775809`, `18446744073709551616`, `1e308`, `1e309`, `-1e309`, `1e-400`,
	`-0.0`, `-0`, `1.0`, `0.5`, `1e30`, `1E2`, `153722867280912`, `5256000`, `5256001`, `1e1000000`,
	`""`, `"a"`, `"\u0000"`, `"\ud800"`, `"ſ"`, `"********"`, `"2026-01-01T00:00:00Z"`, `"9999-12-31T23:59:59Z"`,
	`"0000-01-01T00:00:00Z"`, `"2026-13-45T99:99:99Z"`, `"http://169.254.169.254/latest/meta-data/"`, `"http://[fe80::1%25eth0]/"`,
	`"http://127.0.0.1:1/"`, `"ftp://x"`, `"single-choice"`, `"consent"`, `"score"`, `"quadratic"`, `"weighted"`, `"ranked-choice"`,
	`true`, `false`, `null`, `[]`, `{}`, `[null]`, `[""]`, `["a","a"]`, `["a","b","c"]`, `{"a":1}`, `{"":null}`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
}

func mutateBody(rng *rand.Rand, seeds []string) []byte {
	var seed string
	if len(seeds) > 0 {
		seed = pick(rng, seeds)
	}
	switch n := rng.IntN(100); {
	case n < 8:
		if seed == "" {
			return nil
		}
		return []byte(seed)
	case n < 55 && seed != "":
		return structural(rng, seed, 1+rng.IntN(3))
	case n < 80 && seed != "":
		return bytewise(rng, []byte(seed), 1+rng.IntN(4))
	case n < 88:
		return []byte(randomJSON(rng, 4))
	case n < 92 && len(seeds) > 1:
		return []byte(pick(rng, seeds) + pick(rng, seeds)) // doubled
	case n < 94:
		return []byte(strings.Repeat("[", 70) + strings.Repeat("]", 70))
	case n < 95:
		return bytes.Repeat([]byte("a"), 1<<20+10) // over the size limit
	case n < 97:
		return nil
	default:
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
}

// structural decodes a seed and changes values and keys in it.
func structural(rng *rand.Rand, seed string, times int) []byte {
	var doc any
	dec := json.NewDecoder(strings.NewReader(seed))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return bytewise(rng, []byte(seed), times)
	}
	for range times {
		doc = mutateValue(rng, doc, 0)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return []byte(seed)
	}
	if rng.IntN(5) == 0 {
		out = duplicateKey(rng, out)
	}
	return out
}

// mutateValue changes one place in v, chosen by a random walk.
func mutateValue(rng *rand.Rand, v any, depth int) any {
	switch t := v.(type) {
	case map[string]any:
		if len(t) > 0 && rng.IntN(4) != 0 && depth < 8 {
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			k := pick(rng, keys)
			switch rng.IntN(6) {
			case 0:
				delete(t, k)
			case 1:
				t[foldKey(rng, k)] = interestingValue(rng) // a key encoding/json would fold onto k
			default:
				t[k] = mutateValue(rng, t[k], depth+1)
			}
			return t
		}
		t[pick(rng, []string{"x", "callback_url", "process_id", "parameters", "plugins", "config", "name", "options", "delay", "method"})] = interestingValue(rng)
		return t
	case []any:
		if len(t) > 0 && rng.IntN(3) != 0 && depth < 8 {
			i := rng.IntN(len(t))
			t[i] = mutateValue(rng, t[i], depth+1)
			return t
		}
		if rng.IntN(2) == 0 && len(t) > 0 {
			return t[:len(t)-1]
		}
		return append(t, interestingValue(rng))
	default:
		return interestingValue(rng)
	}
}

func interestingValue(rng *rand.Rand) any {
	if rng.IntN(6) == 0 {
		return json.RawMessage(randomJSON(rng, 3))
	}
	return json.RawMessage(pick(rng, interesting))
}

// foldKey returns a key that differs from k only in case or by a Unicode
// character that folds onto one of its letters.
func foldKey(rng *rand.Rand, k string) string {
	if k == "" {
		return "ſ"
	}
	switch rng.IntN(3) {
	case 0:
		return strings.ToUpper(k)
	case 1:
		if i := strings.LastIndexAny(k, "sk"); i >= 0 {
			r := "ſ"
			if k[i] == 'k' {
				r = "\u212a" // Kelvin sign, folds onto k
			}
			return k[:i] + r + k[i+1:]
		}
		fallthrough
	default:
		return strings.ToUpper(k[:1]) + k[1:]
	}
}

// duplicateKey repeats the first key of an encoded object.
func duplicateKey(rng *rand.Rand, b []byte) []byte {
	if len(b) < 2 || b[0] != '{' || b[1] == '}' {
		return b
	}
	return append([]byte(`{"`+pick(rng, []string{"x", "delay", "plugins", "parameters", "options"})+`":null,`), b[1:]...)
}

var junk = []string{"{", "}", "[", "]", `"`, ",", ":", "0", "-", "e", ".", `\`, `\u`, "null", "tru", "\x00", "\xff", " ", "\n", "ſ", "9999999999999999999999"}

// bytewise damages the bytes of b.
func bytewise(rng *rand.Rand, b []byte, times int) []byte {
	out := append([]byte(nil), b...)
	for range times {
		if len(out) == 0 {
			out = append(out, pick(rng, junk)...)
			continue
		}
		i := rng.IntN(len(out))
		switch rng.IntN(6) {
		case 0: // truncate
			out = out[:i]
		case 1: // delete a span
			j := min(len(out), i+1+rng.IntN(8))
			out = append(out[:i], out[j:]...)
		case 2: // insert junk
			out = append(out[:i], append([]byte(pick(rng, junk)), out[i:]...)...)
		case 3: // duplicate a span
			j := min(len(out), i+1+rng.IntN(16))
			out = append(out[:j], append(append([]byte(nil), out[i:j]...), out[j:]...)...)
		case 4: // flip a byte
			out[i] ^= byte(1 << rng.IntN(8))
		default: // trailing garbage
			out = append(out, pick(rng, junk)...)
		}
	}
	return out
}

// randomJSON makes a random, valid JSON text.
func randomJSON(rng *rand.Rand, depth int) string {
	if depth <= 0 || rng.IntN(3) == 0 {
		return pick(rng, interesting)
	}
	switch rng.IntN(2) {
	case 0:
		n := rng.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randomJSON(rng, depth-1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		n := rng.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			k, _ := json.Marshal(pick(rng, []string{"a", "x", "options", "delay", "parameters", "plugins", "name", "config", "callback_url", "ſ", ""}))
			parts[i] = string(k) + ":" + randomJSON(rng, depth-1)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}

func randomString(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:@ſÄ€"
	r := []rune(alphabet)
	var b strings.Builder
	for range n {
		b.WriteRune(r[rng.IntN(len(r))])
	}
	return b.String()
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// Itoa is strconv.FormatInt for ids, for building Params.
func Itoa(id int64) string { return strconv.FormatInt(id, 10) }
