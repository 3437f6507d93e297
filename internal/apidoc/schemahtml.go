package apidoc

import (
	"encoding/json"
	"html"
	"html/template"
	"regexp"
	"sort"
	"strings"
)

// schemaHTML prints a schema as indented JSON, highlighted, with every
// reference to a component schema turned into a link to it. Keys that say
// what a schema is come first and subschemas last, which reads better than
// alphabetical order.
func schemaHTML(v any) template.HTML {
	var b strings.Builder
	writeJSON(&b, v, "", "")
	return template.HTML(b.String()) // every piece of text is escaped in writeJSON
}

// keyRank orders schema keywords; unlisted keys sort alphabetically between
// the leading and trailing groups.
var keyRank = func() map[string]int {
	first := []string{"$ref", "$id", "title", "description", "type", "format", "const", "enum", "default",
		"required", "deprecated", "readOnly", "writeOnly"}
	last := []string{"properties", "patternProperties", "additionalProperties", "items", "prefixItems",
		"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$defs", "definitions"}
	rank := map[string]int{}
	for i, k := range first {
		rank[k] = i - len(first) // negative: before the rest
	}
	for i, k := range last {
		rank[k] = i + 1
	}
	return rank
}()

// writeJSON writes v as indented JSON. parentKey is the key v is the value
// of: under "properties" and the like the keys are names, not keywords, so
// they keep alphabetical order.
func writeJSON(b *strings.Builder, v any, indent, parentKey string) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString(`<span class="p">{}</span>`)
			return
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		named := schemaMapKeywords[parentKey] || parentKey == "dependentRequired"
		sort.Slice(keys, func(i, j int) bool {
			if !named {
				ri, rj := keyRank[keys[i]], keyRank[keys[j]]
				if ri != rj {
					return ri < rj
				}
			}
			return keys[i] < keys[j]
		})
		inner := indent + "  "
		b.WriteString(`<span class="p">{</span>` + "\n")
		for i, k := range keys {
			b.WriteString(inner)
			b.WriteString(`<span class="k">` + html.EscapeString(quote(k)) + `</span>: `)
			if s, ok := t[k].(string); ok && k == "$ref" {
				writeRef(b, s)
			} else {
				writeJSON(b, t[k], inner, k)
			}
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + `<span class="p">}</span>`)
	case []any:
		if len(t) == 0 {
			b.WriteString(`<span class="p">[]</span>`)
			return
		}
		// Short lists of scalars (enums, required, type unions) fit on a line.
		if scalarList(t) {
			b.WriteString(`<span class="p">[</span>`)
			for i, e := range t {
				if i > 0 {
					b.WriteString(", ")
				}
				writeJSON(b, e, indent, "")
			}
			b.WriteString(`<span class="p">]</span>`)
			return
		}
		inner := indent + "  "
		b.WriteString(`<span class="p">[</span>` + "\n")
		for i, e := range t {
			b.WriteString(inner)
			writeJSON(b, e, inner, "")
			if i < len(t)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + `<span class="p">]</span>`)
	case string:
		b.WriteString(`<span class="s">` + html.EscapeString(quote(t)) + `</span>`)
	case nil:
		b.WriteString(`<span class="n">null</span>`)
	default: // json.Number, bool
		text, _ := json.Marshal(t)
		b.WriteString(`<span class="n">` + html.EscapeString(string(text)) + `</span>`)
	}
}

// scalarList reports whether a list is short and holds only scalars.
func scalarList(l []any) bool {
	if len(l) > 8 {
		return false
	}
	width := 0
	for _, e := range l {
		switch e := e.(type) {
		case map[string]any, []any:
			return false
		case string:
			width += len(e) + 4
		default:
			width += 8
		}
	}
	return width <= 72
}

var componentRef = regexp.MustCompile(`^#/components/schemas/([A-Za-z0-9._-]+)(/.*)?$`)

// writeRef links a reference to the component schema it points into.
func writeRef(b *strings.Builder, ref string) {
	m := componentRef.FindStringSubmatch(ref)
	if m == nil {
		b.WriteString(`<span class="s">` + html.EscapeString(quote(ref)) + `</span>`)
		return
	}
	b.WriteString(`<a class="ref" href="#` + html.EscapeString(schemaAnchor(m[1])) + `">` +
		html.EscapeString(quote(ref)) + `</a>`)
}

func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// markdown renders the little Markdown the document's descriptions use:
// paragraphs separated by blank lines and `code` spans. Everything else is
// shown as text; the input is escaped before any markup is added.
func markdown(s string) template.HTML {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		escaped := html.EscapeString(para)
		b.WriteString("<p>" + codeSpan.ReplaceAllString(escaped, "<code>$1</code>") + "</p>")
	}
	return template.HTML(b.String()) // built from escaped text
}

// inlineMarkdown is markdown for places that only allow phrasing content,
// such as a <summary>: paragraphs are joined with spaces.
func inlineMarkdown(s string) template.HTML {
	escaped := html.EscapeString(strings.Join(strings.Fields(s), " "))
	return template.HTML(codeSpan.ReplaceAllString(escaped, "<code>$1</code>")) // built from escaped text
}
