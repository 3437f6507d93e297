package apidoc

import (
	"net/http"
	"strconv"
)

// Static operation ids are camelCase: plugin-generated ids are lowercase and
// dotted, so the two can never collide whatever a plugin is called.

func pathParam(name, description string, schema obj) parameter {
	return parameter{Name: name, In: "path", Required: true, Description: description, Schema: schema}
}

// pluginNameSchema lists the built-in plugins, so the docs UIs offer them.
func (b *builder) pluginNameSchema() obj {
	s := obj{"type": "string"}
	if len(b.pluginNames) > 0 {
		s["enum"] = b.pluginNames
	}
	return s
}

// addStaticRoutes describes the routes that exist whatever plugins are
// built in.
func (b *builder) addStaticRoutes() error {
	slug := pathParam("slug", "Community slug.", obj{"type": "string"})
	pluginParam := func(name string) parameter {
		return pathParam(name, "Plugin name.", b.pluginNameSchema())
	}
	html := func(description string) response {
		return response{Description: description, Content: map[string]mediaType{"text/html": {Schema: obj{"type": "string"}}}}
	}
	document := jsonResponse("The OpenAPI 3.1 document (this document).", openObject(""))

	ops := []struct {
		method, path string
		op           *operation
	}{
		// Docs. (GET / redirects to Swagger UI; a redirect is left out, as
		// every operation here answers 2xx.)
		{http.MethodGet, SpecPath, &operation{
			OperationID: "getOpenAPIDocument", Tags: []string{tagDocs},
			Summary:   "Get the OpenAPI document",
			Responses: map[string]any{"200": document},
		}},
		{http.MethodGet, "/swagger.json", &operation{
			OperationID: "getSwaggerJSON", Tags: []string{tagDocs},
			Summary:     "Get the OpenAPI document (legacy path)",
			Description: "The same document as `" + SpecPath + "`, at the path the original gateway used.",
			Responses:   map[string]any{"200": document},
		}},
		{http.MethodGet, SwaggerPath, &operation{
			OperationID: "getSwaggerUI", Tags: []string{tagDocs},
			Summary:     "Swagger UI",
			Description: "Also served at `" + SwaggerPath + "/`, its assets below it.",
			Responses:   map[string]any{"200": html("Swagger UI for this document; it works offline.")},
		}},
		{http.MethodGet, RedocPath, &operation{
			OperationID: "getReference", Tags: []string{tagDocs},
			Summary:     "Swagger UI, at the original's reference path",
			Description: "The original gateway served ReDoc here; this one serves the same Swagger UI as `" + SwaggerPath + "`.",
			Responses:   map[string]any{"200": html("Swagger UI for this document; it works offline.")},
		}},

		// Deliveries, events and the audit log.
		{http.MethodGet, "/api/internal/deliveries", &operation{
			OperationID: "listDeliveries", Tags: []string{tagDeliveries},
			Summary: "List deliveries (callbacks and events) with their attempts",
			Description: "Filters: `community`, `status` (pending, succeeded, failed), `kind` (callback, event), `process`; " +
				"paging: `after` (the last id seen) and `limit` (at most 1000). The answer's `next` is the cursor of the next page.",
			Parameters: []any{
				queryParam("community", "Community slug."), queryParam("status", "pending, succeeded or failed."),
				queryParam("kind", "callback or event."), queryIntParam("process", "Process id."),
				queryIntParam("after", "Cursor: the last id seen."), queryIntParam("limit", "Page size, at most 1000."),
			},
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("A page of deliveries.", page("deliveries", openObject("")))}),
		}},
		{http.MethodGet, "/api/internal/deliveries/{id}", &operation{
			OperationID: "getDelivery", Tags: []string{tagDeliveries},
			Summary:    "Get a delivery with its attempts",
			Parameters: []any{pathParam("id", "Delivery id.", obj{"type": "integer"})},
			Responses:  with(errs(404, 500), map[int]any{200: jsonResponse("The delivery.", openObject(""))}),
		}},
		{http.MethodPost, "/api/internal/deliveries/{id}/redeliver", &operation{
			OperationID: "redeliver", Tags: []string{tagDeliveries},
			Summary:     "Send a delivery again",
			Description: "Queues the delivery again, with the same `webhook-id`, whatever became of it.",
			Parameters:  []any{pathParam("id", "Delivery id.", obj{"type": "integer"})},
			Responses:   with(errs(404, 500), map[int]any{202: jsonResponse("The delivery, queued.", openObject(""))}),
		}},
		{http.MethodGet, "/api/internal/events", &operation{
			OperationID: "listEvents", Tags: []string{tagDeliveries},
			Summary:     "Pull events after a cursor",
			Description: "Events in the envelope they are pushed in, oldest first; kept 30 days by default.",
			Parameters: []any{queryParam("community", "Community slug."), queryIntParam("after", "Cursor: the last event id seen."),
				queryIntParam("limit", "Page size, at most 1000.")},
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("A page of events.", page("events", ref(schemaEvent)))}),
		}},
		{http.MethodGet, "/api/internal/audit", &operation{
			OperationID: "listAudit", Tags: []string{tagDeliveries},
			Summary:    "List the audit log of the caller's communities",
			Parameters: []any{queryIntParam("after", "Cursor: the last entry id seen."), queryIntParam("limit", "Page size, at most 1000.")},
			Responses:  with(errs(400, 500), map[int]any{200: jsonResponse("A page of audit entries.", page("entries", openObject("")))}),
		}},

		// Operations.
		{http.MethodGet, "/healthz", &operation{
			OperationID: "healthz", Tags: []string{tagOps}, Summary: "Liveness",
			Responses: map[string]any{"200": jsonResponse("The process serves.", openObject(""))},
		}},
		{http.MethodGet, "/readyz", &operation{
			OperationID: "readyz", Tags: []string{tagOps}, Summary: "Readiness: the database answers and is migrated",
			Responses: map[string]any{"200": jsonResponse("Ready.", openObject("")),
				"503": jsonResponse("Not ready.", ref(schemaError))},
		}},
		{http.MethodGet, "/metrics", &operation{
			OperationID: "metrics", Tags: []string{tagOps}, Summary: "Prometheus metrics",
			Responses: map[string]any{"200": response{Description: "Metrics in the Prometheus text format.",
				Content: map[string]mediaType{"text/plain": {Schema: obj{"type": "string"}}}}},
		}},

		// Community Configuration.
		{http.MethodPost, "/api/internal/community", &operation{
			OperationID: "createCommunity", Tags: []string{tagCommunity},
			Summary: "Create a community",
			Description: "Creates a community and enables the listed plugins, all or nothing. " +
				"Without `slug` the gateway generates one (a UUID); a key limited to communities may not choose it (403 `slug_not_allowed`).",
			RequestBody: &requestBody{Content: jsonContent(ref(schemaCommunityCreate))},
			Responses: with(errs(400, 403, 409, 422, 500, 502, 504), map[int]any{
				201: jsonResponse("The community was created.", ref(schemaCommunity)),
			}),
		}},
		{http.MethodGet, "/api/internal/community/{slug}", &operation{
			OperationID: "getCommunity", Tags: []string{tagCommunity},
			Summary:    "Get a community",
			Parameters: []any{slug},
			Responses: with(errs(404, 500), map[int]any{
				200: jsonResponse("The community and its plugin instances.", ref(schemaCommunity)),
			}),
		}},
		{http.MethodPut, "/api/internal/community/{slug}", &operation{
			OperationID: "replaceCommunity", Tags: []string{tagCommunity},
			Summary: "Create or replace a community",
			Description: "Creates the community if it does not exist (201), otherwise replaces it (200): " +
				"listed plugins are enabled or updated, plugins not listed are disabled. All or nothing. " +
				"A key limited to communities replaces only its own: any other slug, taken or free, is 404. " +
				"A plugin to disable that has processes that have not completed is refused (409) unless `force=true`. " +
				"A disabled plugin that could not remove what it set up on its platform (a webhook) is reported in `warnings`.",
			Parameters:  []any{slug, forceParam()},
			RequestBody: &requestBody{Content: jsonContent(ref(schemaCommunityReplace))},
			Responses: with(errs(400, 404, 409, 422, 500, 502, 504), map[int]any{
				200: jsonResponse("The community was replaced.", ref(schemaCommunity)),
				201: jsonResponse("The community was created.", ref(schemaCommunity)),
			}),
		}},
		{http.MethodDelete, "/api/internal/community/{slug}", &operation{
			OperationID: "deleteCommunity", Tags: []string{tagCommunity},
			Summary:     "Delete a community",
			Description: "Deletes the community with its plugin instances and processes.",
			Parameters:  []any{slug},
			Responses: with(errs(404, 500), map[int]any{
				200: jsonResponse("The community was deleted, but a plugin could not undo its setup on its platform "+
					"(such as a webhook it registered); the warnings say what is left.", removalWarnings),
				204: response{Description: "The community was deleted."},
			}),
		}},
		{http.MethodGet, "/api/internal/community/{slug}/hooks", &operation{
			OperationID: "listCommunityHooks", Tags: []string{tagCommunity},
			Summary:    "List the community's webhook receivers",
			Parameters: []any{slug},
			Responses: with(errs(404, 500), map[int]any{
				200: jsonResponse("Receiver paths to register on the platforms.", ref(schemaHooks)),
			}),
		}},

		// Plugins.
		{http.MethodDelete, "/api/internal/plugin/{name}/{id}", &operation{
			OperationID: "deletePlugin", Tags: []string{tagPlugins},
			Summary: "Disable a plugin instance",
			Description: "Deletes the plugin instance with this id, with its state; its processes stay readable. " +
				"An instance with processes that have not completed is refused (409, naming them) unless `force=true`: " +
				"then the plugin closes those it can, the others complete with the error `plugin_removed`, " +
				"and each one's callback is delivered. Once the instance is deleted, a plugin that set something up on the platform " +
				"(a webhook) removes it; if that fails or times out the instance is deleted all the same and the answer is 200 with `warnings`.",
			Parameters: []any{
				pluginParam("name"),
				pathParam("id", "Plugin instance id.", obj{"type": "integer", "format": "int64"}),
				paramRef(paramCommunityOptional),
				forceParam(),
			},
			Responses: with(errs(400, 404, 409, 500), map[int]any{
				200: jsonResponse("The plugin instance was deleted, but the plugin could not undo its setup on the platform "+
					"(such as a webhook it registered); the warnings say what is left.", removalWarnings),
				204: response{Description: "The plugin instance was deleted."},
			}),
		}},
		{http.MethodGet, "/api/internal/plugin-schemas", &operation{
			OperationID: "getPluginSchemas", Tags: []string{tagPlugins},
			Summary:   "Get every plugin's config schema",
			Responses: map[string]any{"200": jsonResponse("Config schema per plugin name; `{}` for plugins without one.", b.pluginSchemasSchema())},
		}},
		{http.MethodGet, "/api/internal/plugin/{name}/metadata", &operation{
			OperationID: "getPluginMetadata", Tags: []string{tagPlugins},
			Summary:    "Get a plugin's metadata",
			Parameters: []any{pluginParam("name")},
			Responses: with(errs(404), map[int]any{
				200: jsonResponse("The plugin's description and schemas.", ref(schemaPluginMetadata)),
			}),
		}},

		// Webhooks.
		{http.MethodPost, "/api/hooks/{community}/{plugin}", &operation{
			OperationID: "receiveCommunityWebhook", Tags: []string{tagWebhooks},
			Summary:     "Receive a webhook for a community's plugin instance",
			Parameters:  []any{pathParam("community", "Community slug.", obj{"type": "string"}), pluginParam("plugin")},
			RequestBody: webhookBody(),
			Responses:   webhookResponses(),
		}},
		{http.MethodPost, "/api/hooks/{community}/{plugin}/{webhook_slug}", &operation{
			OperationID: "receiveCommunityWebhookWithSlug", Tags: []string{tagWebhooks},
			Summary:     "Receive a webhook at an unguessable URL",
			Description: "For platforms that cannot sign webhooks: the slug is a secret generated per instance and can be rotated.",
			Parameters: []any{
				pathParam("community", "Community slug.", obj{"type": "string"}),
				pluginParam("plugin"),
				pathParam("webhook_slug", "The instance's secret webhook slug.", obj{"type": "string"}),
			},
			RequestBody: webhookBody(),
			Responses:   webhookResponses(),
		}},
		{http.MethodPost, "/api/hooks/{plugin}", &operation{
			OperationID: "receivePlatformWebhook", Tags: []string{tagWebhooks},
			Summary:     "Receive a platform-wide webhook",
			Description: "For platforms with one app across many communities (Slack, Discord, GitHub): the plugin routes the webhook to the right instance.",
			Parameters:  []any{pluginParam("plugin")},
			RequestBody: webhookBody(),
			Responses:   webhookResponses(),
		}},
	}
	for _, o := range ops {
		if err := b.addOp(o.method, o.path, o.op); err != nil {
			return err
		}
	}
	if err := b.addAuthAndIdentityRoutes(); err != nil {
		return err
	}

	// What the gateway sends the driver.
	if err := b.addWebhook("processCallback", &operation{
		OperationID: "processCallback", Tags: []string{tagSent},
		Summary: "Process callback",
		Description: "POSTed to a process's `callback_url` whenever its status, outcome, errors or url change. " +
			"Keep the record with the highest `sequence`. Any 2xx acknowledges it; anything else is retried for days.",
		Parameters:  deliveryHeaders(),
		RequestBody: &requestBody{Required: true, Content: jsonContent(ref(schemaProcess))},
		Responses:   deliveryResponses(),
	}); err != nil {
		return err
	}
	return b.addWebhook("event", &operation{
		OperationID: "event", Tags: []string{tagSent},
		Summary: "Event",
		Description: "POSTed to the event receiver (`DRIVER_EVENT_RECEIVER_URL`) for every event. " +
			"Events whose plugin declares a data schema are also listed one by one.",
		Parameters:  deliveryHeaders(),
		RequestBody: &requestBody{Required: true, Content: jsonContent(ref(schemaEvent))},
		Responses:   deliveryResponses(),
	})
}

// deliveryHeaders are the Standard Webhooks headers of every delivery.
func deliveryHeaders() []any {
	return []any{paramRef(paramWebhookID), paramRef(paramWebhookTimestamp), paramRef(paramWebhookSignature)}
}

// deliveryResponses are what a driver's receiver may answer.
func deliveryResponses() map[string]any {
	return map[string]any{
		"200": response{Description: "Received (any 2xx will do)."},
		"410": response{Description: "Gone: the gateway stops retrying this delivery."},
		"429": response{Description: "Too many requests: retried after `Retry-After` (as is 503)."},
	}
}

// with adds success responses to an operation's error responses.
func with(responses map[string]any, success map[int]any) map[string]any {
	for code, r := range success {
		responses[strconv.Itoa(code)] = r
	}
	return responses
}

// pluginSchemasSchema describes GET /api/internal/plugin-schemas: one
// property per plugin whose value is a JSON Schema document.
func (b *builder) pluginSchemasSchema() obj {
	props := obj{}
	for _, name := range b.pluginNames {
		props[name] = obj{
			"type":                 []string{"object", "boolean"},
			"additionalProperties": true,
			"description":          "The config schema of " + name + "; the same as the component `" + name + ".config`.",
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(b.pluginNames) > 0 {
		s["required"] = b.pluginNames
	}
	return s
}

func webhookBody() *requestBody {
	return &requestBody{
		Description: "The platform's payload, passed to the plugin as received.",
		Content: map[string]mediaType{
			"application/json":                  {Schema: anyValue()},
			"application/x-www-form-urlencoded": {Schema: anyObject()},
		},
	}
}

func webhookResponses() map[string]any {
	r := errs(401, 404, 413, 500)
	r["200"] = response{Description: "The webhook was verified and handled. Some platforms get a reply body they expect (such as a challenge)."}
	return r
}

// forceParam is the force query parameter of the routes that remove plugin
// instances.
func forceParam() parameter {
	return parameter{Name: "force", In: "query", Schema: obj{"type": "boolean", "default": false},
		Description: "Remove plugin instances even if they have processes that have not completed: the plugin closes those it can, " +
			"the others complete with the error `plugin_removed`; their callbacks are delivered."}
}

func queryParam(name, description string) parameter {
	return parameter{Name: name, In: "query", Description: description, Schema: obj{"type": "string"}}
}

func queryIntParam(name, description string) parameter {
	return parameter{Name: name, In: "query", Description: description, Schema: obj{"type": "integer", "minimum": 0}}
}

// page is the schema of a listing: its items and the next cursor.
func page(items string, item obj) obj {
	return obj{"type": "object", "properties": obj{
		items:  obj{"type": "array", "items": item},
		"next": obj{"type": "integer"},
	}}
}

// removalWarnings is the body of a removal that succeeded with warnings.
var removalWarnings = obj{
	"type":     "object",
	"required": []string{"warnings"},
	"properties": obj{
		"warnings": obj{"type": "array", "items": obj{"type": "string"},
			"description": "What each removed plugin could not undo on its platform, for a person to act on."},
	},
}
