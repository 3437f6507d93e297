package slackfake

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// Where Slack's descriptions live in the shared directory.
var (
	webAPIRel  = filepath.Join("platforms", "slack", "slack_web_openapi_v2.json")
	wrapperRel = filepath.Join("platforms", "slack", "slack_common_event_wrapper_schema.json")
	eventsRel  = filepath.Join("platforms", "slack", "slack_events_api_async_v1.json")
)

// param is one documented argument of a Web API method.
type param struct {
	Name     string `json:"name"`
	In       string `json:"in"` // header (the token), formData or query
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// methodSpec is a Web API method as Slack's description documents it.
type methodSpec struct {
	HTTPMethod string
	Params     map[string]param
	// Errors are the error codes documented for the method; nil when the
	// description gives none.
	Errors map[string]bool
}

// webAPI is Slack's Web API description, read once per test binary.
type webAPI struct {
	Methods map[string]*methodSpec
	// Wrapper validates an event_callback envelope; Events validates each
	// event type's payload by topic (reaction_added is reaction.added).
	Wrapper *jsonschema.Schema
	Events  map[string]*jsonschema.Schema
}

var (
	specOnce sync.Once
	specDoc  *webAPI
	specErr  error
	specMiss string
)

// loadSpec reads the descriptions; nil without an error when they are
// absent and not required.
func loadSpec() (*webAPI, string, error) {
	specOnce.Do(func() {
		path, found, err := platformdocs.Find(webAPIRel)
		if err != nil || !found {
			specErr, specMiss = err, platformdocs.Missing("slackfake", webAPIRel)
			return
		}
		specDoc, specErr = parseSpec(path)
	})
	return specDoc, specMiss, specErr
}

func parseSpec(path string) (*webAPI, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []param `json:"parameters"`
			Responses  map[string]struct {
				Schema struct {
					Properties struct {
						Error struct {
							Enum []string `json:"enum"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"schema"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	api := &webAPI{Methods: map[string]*methodSpec{}, Events: map[string]*jsonschema.Schema{}}
	for p, ops := range doc.Paths {
		for verb, op := range ops {
			m := &methodSpec{HTTPMethod: strings.ToUpper(verb), Params: map[string]param{}}
			for _, pa := range op.Parameters {
				m.Params[pa.Name] = pa
			}
			if enum := op.Responses["default"].Schema.Properties.Error.Enum; len(enum) > 0 {
				m.Errors = map[string]bool{}
				for _, e := range enum {
					m.Errors[e] = true
				}
			}
			api.Methods[strings.TrimPrefix(p, "/")] = m
		}
	}
	if err := api.loadEvents(); err != nil {
		return nil, err
	}
	return api, nil
}

// loadEvents compiles the event_callback envelope's schema and each event
// topic's payload schema.
func (api *webAPI) loadEvents() error {
	wrapperPath, found, err := platformdocs.Find(wrapperRel)
	if err != nil || !found {
		return err
	}
	c := jsonschema.NewCompiler()
	doc, err := readJSON(wrapperPath)
	if err != nil {
		return err
	}
	if err := c.AddResource("slack-wrapper.json", doc); err != nil {
		return err
	}
	if api.Wrapper, err = c.Compile("slack-wrapper.json"); err != nil {
		return fmt.Errorf("compiling %s: %w", wrapperPath, err)
	}
	eventsPath, found, err := platformdocs.Find(eventsRel)
	if err != nil || !found {
		return err
	}
	events, err := readJSON(eventsPath)
	if err != nil {
		return err
	}
	topics, _ := events.(map[string]any)["topics"].(map[string]any)
	ec := jsonschema.NewCompiler()
	ec.DefaultDraft(jsonschema.Draft7)
	if err := ec.AddResource("slack-events.json", events); err != nil {
		return err
	}
	for topic := range topics {
		s, err := ec.Compile("slack-events.json#/topics/" + strings.ReplaceAll(strings.ReplaceAll(topic, "~", "~0"), "/", "~1") + "/subscribe/payload")
		if err != nil {
			return fmt.Errorf("compiling the payload schema of %s in %s: %w", topic, eventsPath, err)
		}
		api.Events[topic] = s
	}
	return nil
}

func readJSON(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}
