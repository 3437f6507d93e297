package core

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/metagov/metagov-go/plugin"
)

// generatedProperties lists the top-level config properties a schema marks
// plugin.GeneratedKeyword, sorted so the order is stable.
func generatedProperties(schema any) []string {
	m, _ := schema.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	var out []string
	for name, sub := range props {
		if sm, ok := sub.(map[string]any); ok {
			if g, _ := sm[plugin.GeneratedKeyword].(bool); g {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// fillGenerated gives every generated property the incoming config leaves
// out (or sends as null) a value: the one the instance already has, so a
// config update that omits it keeps the webhook URL, or else a new random
// token of 26 letters and digits (130 bits from crypto/rand). A config that
// is not a JSON object is returned as it is, for validation to refuse.
func (t *pluginType) fillGenerated(incoming, existingPlain json.RawMessage) (json.RawMessage, error) {
	if len(t.generated) == 0 {
		return incoming, nil
	}
	doc := map[string]any{}
	if len(incoming) > 0 && string(incoming) != "null" {
		if err := unmarshalExact(incoming, &doc); err != nil || doc == nil {
			return incoming, nil
		}
	}
	var existing map[string]any
	if len(existingPlain) > 0 {
		_ = unmarshalExact(existingPlain, &existing)
	}
	filled := false
	for _, name := range t.generated {
		if v, ok := doc[name]; ok && v != nil {
			continue
		}
		if old, ok := existing[name]; ok && old != nil {
			doc[name] = old
		} else {
			doc[name] = rand.Text()
		}
		filled = true
	}
	if !filled {
		return incoming, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding %s config: %w", t.info.Name, err)
	}
	return out, nil
}
