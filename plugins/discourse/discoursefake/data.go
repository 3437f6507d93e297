package discoursefake

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// User is a forum account.
type User struct {
	ID         int64
	Username   string
	Name       string
	Admin      bool
	UserFields map[string]string // custom user fields by field id
}

// Topic is a topic or a private message thread.
type Topic struct {
	ID         int64
	Title      string
	Slug       string
	CategoryID *int64
	Tags       []string
	Archetype  string // regular or private_message
	UserID     int64
	Recipients string // target_recipients of a private message
	Deleted    bool
	PostsCount int64
}

// Post is one post, with its poll if its raw text has one.
type Post struct {
	ID         int64
	TopicID    int64
	PostNumber int64
	Raw        string
	UserID     int64
	Username   string
	IsWarning  bool
	Deleted    bool
	Locked     bool
	Poll       *Poll
}

// Poll is the poll plugin's poll named "poll", parsed from [poll ...].
type Poll struct {
	ID        int64
	Name      string
	Type      string
	Status    string // open or closed
	Public    bool
	Results   string
	ChartType string
	Close     string
	Groups    []string
	Min       *int64
	Max       *int64
	Step      *int64
	Options   []*PollOption
}

// PollOption is one option with its vote count. Discourse keeps an option
// as the poll plugin's markdown rule and PrettyText.cook left it: its id is
// the MD5 of the option's markdown source as JSON.stringify([source])
// writes it (discourse-markdown/poll.js), its html the inner HTML of its
// cooked <li> (DiscoursePoll::Poll.extract), so "A & B" is "A &amp; B" and
// "**x**" is "<strong>x</strong>".
type PollOption struct {
	Source string
	HTML   string
	Votes  int64
}

// Digest is the option id Discourse gives an option.
func (o *PollOption) Digest() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // JSON.stringify leaves <, > and & alone...
	_ = enc.Encode([]string{o.Source})
	// ...and U+2028 and U+2029, which encoding/json always escapes.
	s := strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(strings.TrimSuffix(b.String(), "\n"))
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// cooker renders option markdown close to what Discourse's markdown-it
// does with its default settings: CommonMark with linkify and the
// typographer (enable_markdown_linkify and enable_markdown_typographer are
// on by default), which writes curly quotes, dashes and ellipses as
// characters, not entities, and leaves << and >> alone.
var cooker = goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.NewTypographer(
	extension.WithTypographicSubstitutions(map[extension.TypographicPunctuation]string{
		extension.LeftSingleQuote: "‘", extension.RightSingleQuote: "’", extension.Apostrophe: "’",
		extension.LeftDoubleQuote: "“", extension.RightDoubleQuote: "”",
		extension.EnDash: "–", extension.EmDash: "—", extension.Ellipsis: "…",
		extension.LeftAngleQuote: "&lt;&lt;", extension.RightAngleQuote: "&gt;&gt;",
	}))))

// cookInline renders one line of markdown and keeps what is inside its
// paragraph, as the inner HTML of a cooked list item.
func cookInline(src string) string {
	var b bytes.Buffer
	if err := cooker.Convert([]byte(src), &b); err != nil {
		return html.EscapeString(src)
	}
	out := strings.TrimSpace(b.String())
	out = strings.TrimPrefix(out, "<p>")
	return strings.TrimSuffix(out, "</p>")
}

var (
	pollOpen   = regexp.MustCompile(`(?m)^\[poll(?:\s+([^\]]*))?\]\s*$`)
	pollOption = regexp.MustCompile(`^\s*[*-]\s+(.+?)\s*$`)
)

// parsePoll reads the first [poll]...[/poll] block of raw, as the poll
// plugin's cooking would; number polls get options min..max by step.
func parsePoll(id int64, raw string) *Poll {
	loc := pollOpen.FindStringSubmatchIndex(raw)
	if loc == nil {
		return nil
	}
	end := strings.Index(raw[loc[1]:], "[/poll]")
	if end < 0 {
		return nil
	}
	p := &Poll{ID: id, Name: "poll", Type: "regular", Status: "open"}
	if loc[2] >= 0 {
		for field := range strings.FieldsSeq(raw[loc[2]:loc[3]]) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "name":
				p.Name = v
			case "type":
				p.Type = v
			case "status":
				p.Status = v
			case "public":
				p.Public = v == "true"
			case "results":
				p.Results = v
			case "chartType":
				p.ChartType = v
			case "close":
				p.Close = v
			case "groups":
				p.Groups = strings.Split(v, ",")
			case "min":
				p.Min = parseInt(v)
			case "max":
				p.Max = parseInt(v)
			case "step":
				p.Step = parseInt(v)
			}
		}
	}
	if p.Type == "number" {
		lo, hi, step := int64(1), int64(10), int64(1)
		if p.Min != nil {
			lo = *p.Min
		}
		if p.Max != nil {
			hi = *p.Max
		}
		if p.Step != nil && *p.Step > 0 {
			step = *p.Step
		}
		for n := lo; n <= hi && len(p.Options) < 1000; n += step {
			n := strconv.FormatInt(n, 10)
			p.Options = append(p.Options, &PollOption{Source: n, HTML: n})
		}
		return p
	}
	for line := range strings.SplitSeq(raw[loc[1]:loc[1]+end], "\n") {
		if m := pollOption.FindStringSubmatch(line); m != nil {
			p.Options = append(p.Options, &PollOption{Source: m[1], HTML: cookInline(m[1])})
		}
	}
	return p
}

// parseInt reads a poll parameter; nil when it is not a number.
func parseInt(v string) *int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// slugify makes a topic slug the way Discourse's default slug generator
// does for ASCII titles.
func slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		return "topic"
	}
	return s
}

// created is the fixed creation time of everything in the fake.
var created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
