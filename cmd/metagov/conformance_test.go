package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

// TestPluginsDeclareSecretDestinations checks every built-in plugin against
// the rule that keeps stored secrets at home: a plugin with secrets
// ("writeOnly") must say of every URL-like config property whether it
// decides where those secrets are sent (plugin.DestinationKeyword, true or
// false), so that no such property is forgotten; and the platforms whose
// server is configurable declare it.
func TestPluginsDeclareSecretDestinations(t *testing.T) {
	destinations := map[string][]string{}
	for _, info := range pluginrt.List() {
		if len(info.Config) == 0 {
			continue
		}
		var schema any
		require.NoError(t, json.Unmarshal(info.Config, &schema), info.Name)
		hasSecret := false
		var urlish []string
		var walk func(s any, path string)
		walk = func(s any, path string) {
			m, _ := s.(map[string]any)
			if m == nil {
				return
			}
			if w, _ := m["writeOnly"].(bool); w {
				hasSecret = true
			}
			if mark, ok := m[plugin.DestinationKeyword].(bool); ok && mark {
				destinations[info.Name] = append(destinations[info.Name], path)
			}
			name := strings.ToLower(path[strings.LastIndex(path, "/")+1:])
			format, _ := m["format"].(string)
			if strings.HasSuffix(name, "url") || strings.HasSuffix(name, "uri") || strings.HasSuffix(name, "host") ||
				strings.HasPrefix(format, "uri") || strings.HasPrefix(format, "iri") || format == "hostname" {
				if _, declared := m[plugin.DestinationKeyword].(bool); !declared {
					urlish = append(urlish, path)
				}
			}
			props, _ := m["properties"].(map[string]any)
			for k, sub := range props {
				walk(sub, path+"/"+k)
			}
			walk(m["items"], path+"/*")
		}
		walk(schema, "")
		if hasSecret {
			require.Empty(t, urlish, "plugin %s has secrets: say whether these properties decide where they are sent (%s)",
				info.Name, plugin.DestinationKeyword)
		}
	}
	for _, name := range []string{"discourse", "loomio", "opencollective", "sourcecred"} {
		require.Contains(t, destinations[name], "/server_url", name)
	}
}

// TestPluginsRunTheConformanceKit checks that every built-in plugin's
// package runs plugin/plugintest on itself, so a new plugin cannot skip it.
func TestPluginsRunTheConformanceKit(t *testing.T) {
	for _, info := range pluginrt.List() {
		path := filepath.Join("..", "..", "plugins", info.Name, "conformance_test.go")
		src, err := os.ReadFile(path)
		require.NoError(t, err, "plugin %s: copy plugins/randomness/conformance_test.go and adapt it", info.Name)
		require.Contains(t, string(src), "plugintest.Exercise(", path)
		require.Contains(t, string(src), `Plugin: "`+info.Name+`"`, path)
	}
}
