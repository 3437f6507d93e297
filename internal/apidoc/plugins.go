package apidoc

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/plugin"
)

// addPlugin adds a plugin's schemas to components and its literal routes:
// enable, one per action (two for public actions) and three per process.
func (b *builder) addPlugin(p plugin.Info) error {
	configName := p.Name + ".config"
	config, err := prepareSchema(p.Config, configName, anyObject())
	if err != nil {
		return err
	}
	if err := b.addSchema(configName, config); err != nil {
		return err
	}
	if err := b.addEnable(p, configName); err != nil {
		return err
	}
	for _, a := range p.Actions {
		if err := b.addAction(p.Name, a); err != nil {
			return fmt.Errorf("action %q: %w", a.Name, err)
		}
	}
	for _, q := range p.Processes {
		if err := b.addProcess(p.Name, q); err != nil {
			return fmt.Errorf("process %q: %w", q.Name, err)
		}
	}
	for _, e := range p.Events {
		if len(e.Schema) == 0 {
			continue
		}
		name := p.Name + "." + componentSafe(e.Type) + ".event"
		s, err := prepareSchema(e.Schema, name, anyValue())
		if err != nil {
			return fmt.Errorf("event %q: %w", e.Type, err)
		}
		if err := b.addSchema(name, s); err != nil {
			return fmt.Errorf("event %q: %w", e.Type, err)
		}
		if err := b.addEventWebhook(p.Name, e, name); err != nil {
			return fmt.Errorf("event %q: %w", e.Type, err)
		}
	}
	return nil
}

// addEventWebhook describes one event type as the driver receives it: the
// Event envelope with the plugin's data schema.
func (b *builder) addEventWebhook(pluginName string, e plugin.EventType, dataName string) error {
	id := pluginName + "." + componentSafe(e.Type)
	return b.addWebhook(id, &operation{
		OperationID: "event." + id,
		Tags:        []string{tagSent},
		Summary:     "Event " + e.Type + " from " + pluginName,
		Description: joinParagraphs(e.Description, "POSTed to the event receiver, as every event."),
		Parameters:  deliveryHeaders(),
		RequestBody: &requestBody{Required: true, Content: jsonContent(obj{"allOf": []any{
			ref(schemaEvent),
			obj{"properties": obj{
				"source":     obj{"const": pluginName},
				"event_type": obj{"const": e.Type},
				"data":       ref(dataName),
			}},
		}})},
		Responses: deliveryResponses(),
	})
}

func (b *builder) addEnable(p plugin.Info, configName string) error {
	description := "Enables " + p.Name + " for the community named in `X-Metagov-Community` (201), " +
		"or updates the config of its existing instance (200). The body is the config itself. " +
		"Properties marked `writeOnly` are secrets: stored encrypted and never returned; sending back `********` keeps one. " +
		"Properties marked `x-metagov-destination` decide where the secrets are sent: changing one while keeping a secret " +
		"is refused (400 `secret_required`); send the secrets again with the new destination."
	if p.PlatformIDKey != "" {
		description += " A community can have one instance per platform account, named by the config property `" + p.PlatformIDKey +
			"`; the instance's `community_platform_id` is that value, or the account's own id when the plugin resolves it " +
			"(a config naming an account the community has, another way, updates that instance)."
	}
	return b.addOp(http.MethodPost, "/api/internal/plugin/"+p.Name, &operation{
		OperationID: "enable." + p.Name,
		Tags:        []string{tagPlugins},
		Summary:     "Enable " + p.Name,
		Description: joinParagraphs(p.Description, description),
		Parameters:  []any{paramRef(paramCommunity)},
		RequestBody: &requestBody{Required: true, Content: jsonContent(ref(configName))},
		Responses: with(errs(400, 404, 422, 500, 502, 504), map[int]any{
			201: jsonResponse("The plugin was enabled.", ref(schemaPlugin)),
			200: jsonResponse("The plugin's config was updated.", ref(schemaPlugin)),
		}),
	})
}

func (b *builder) addAction(pluginName string, a plugin.Action) error {
	if !namePattern.MatchString(a.Name) {
		return fmt.Errorf("name must match %s", namePattern)
	}
	id := pluginName + "." + a.Name
	inName, outName := id+".input", id+".output"
	in, err := prepareSchema(a.Input, inName, anyObject())
	if err != nil {
		return err
	}
	out, err := prepareSchema(a.Output, outName, anyValue())
	if err != nil {
		return err
	}
	if err := b.addSchema(inName, in); err != nil {
		return err
	}
	if err := b.addSchema(outName, out); err != nil {
		return err
	}

	op := func(opID, tag string) *operation {
		return &operation{
			OperationID: opID,
			Tags:        []string{tag},
			Summary:     id,
			Description: joinParagraphs(a.Description, "Performs `"+id+"` with the instance of "+pluginName+" enabled for the community."),
			Parameters:  []any{paramRef(paramCommunity), paramRef(paramPlatformID)},
			RequestBody: &requestBody{Content: jsonContent(obj{
				"type": "object",
				"properties": obj{
					"parameters": ref(inName),
				},
				"description": "Omitted `parameters` mean `{}`.",
			})},
			Responses: with(errs(400, 404, 409, 422, 500, 502, 504), map[int]any{
				200: jsonResponse("The action's result.", ref(outName)),
			}),
		}
	}
	if err := b.addOp(http.MethodPost, "/api/internal/action/"+id, op(id, tagActions)); err != nil {
		return err
	}
	if a.Public {
		return b.addOp(http.MethodPost, "/api/action/"+id, op(id+".public", tagPublic))
	}
	return nil
}

func (b *builder) addProcess(pluginName string, q plugin.ProcessType) error {
	if !namePattern.MatchString(q.Name) {
		return fmt.Errorf("name must match %s", namePattern)
	}
	id := pluginName + "." + q.Name
	inName, outcomeName := id+".input", id+".outcome"
	in, err := prepareSchema(q.Input, inName, anyObject())
	if err != nil {
		return err
	}
	outcome, err := prepareSchema(q.Outcome, outcomeName, anyValue())
	if err != nil {
		return err
	}
	// The input component is the start request's body, the one place it is
	// used: the plugin's parameters plus callback_url.
	start, err := processStartBody(in)
	if err != nil {
		return err
	}
	if err := b.addSchema(inName, start); err != nil {
		return err
	}
	if err := b.addSchema(outcomeName, outcome); err != nil {
		return err
	}

	// The record with this process's name and outcome schema filled in.
	record := obj{"allOf": []any{
		ref(schemaProcess),
		obj{"properties": obj{"name": obj{"const": id}, "outcome": ref(outcomeName)}},
	}}
	path := "/api/internal/process/" + id
	idParam := pathParam("id", "Process id, from the `Location` header of the start response.", obj{"type": "integer", "format": "int64"})

	if err := b.addOp(http.MethodPost, path, &operation{
		OperationID: "start." + id,
		Tags:        []string{tagProcesses},
		Summary:     "Start " + id,
		Description: joinParagraphs(q.Description, "Starts the process for the community. "+
			"Every change of its status or outcome is POSTed to `callback_url`, if given."),
		Parameters:  []any{paramRef(paramCommunity), paramRef(paramPlatformID)},
		RequestBody: &requestBody{Required: true, Content: jsonContent(ref(inName))},
		Responses: with(errs(400, 404, 409, 422, 500, 502, 504), map[int]any{
			202: response{
				Description: "The process started.",
				Headers: map[string]header{"Location": {
					Description: "Path of the process record: `" + path + "/{id}`.",
					Required:    true,
					Schema:      obj{"type": "string", "format": "uri-reference"},
				}},
				Content: jsonContent(record),
			},
		}),
	}); err != nil {
		return err
	}
	if err := b.addOp(http.MethodGet, path+"/{id}", &operation{
		OperationID: "get." + id,
		Tags:        []string{tagProcesses},
		Summary:     "Check status of " + id,
		Parameters:  []any{idParam},
		Responses: with(errs(404, 500), map[int]any{
			200: jsonResponse("The process record.", record),
		}),
	}); err != nil {
		return err
	}
	return b.addOp(http.MethodDelete, path+"/{id}", &operation{
		OperationID: "close." + id,
		Tags:        []string{tagProcesses},
		Summary:     "Close " + id,
		Description: "Closes the process early and returns the completed record. " +
			"A process that already completed answers 409; one whose plugin cannot close it early answers 405.",
		Parameters: []any{idParam},
		Responses: with(errs(404, 405, 409, 422, 500, 502, 504), map[int]any{
			200: jsonResponse("The completed process record.", record),
		}),
	})
}

// processStartBody describes a process start request: one flat object with
// the input's properties plus callback_url (which the gateway removes before
// validating the rest against the input schema). It is flat rather than an
// allOf of the input because inputs often forbid additional properties,
// which would forbid callback_url too.
func processStartBody(in any) (obj, error) {
	callback := obj{
		"type":        "string",
		"format":      "uri",
		"maxLength":   core.MaxCallbackURLLength,
		"description": "Where the gateway POSTs the process record whenever it changes.",
	}
	m, _ := in.(map[string]any)
	body := obj{}
	for k, v := range m {
		switch k {
		// These would count callback_url against the input's limits.
		case "maxProperties", "propertyNames":
		default:
			body[k] = v
		}
	}
	props := obj{}
	if p, ok := m["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	if _, taken := props["callback_url"]; taken {
		return nil, errors.New("input schema declares callback_url, which the gateway reserves")
	}
	props["callback_url"] = callback
	body["type"] = "object"
	body["properties"] = props
	return body, nil
}

func joinParagraphs(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n\n")
}

var unsafeComponentChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// componentSafe makes an event type usable in a component name, which
// OpenAPI restricts to ^[a-zA-Z0-9.\-_]+$.
func componentSafe(s string) string {
	if s == "" {
		return "_"
	}
	return unsafeComponentChars.ReplaceAllString(s, "_")
}
