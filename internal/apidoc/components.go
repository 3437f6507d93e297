package apidoc

import (
	"net/http"
	"strconv"
)

// Names of the shared component schemas, responses and parameters.
const (
	schemaError            = "Error"
	schemaCommunity        = "Community"
	schemaCommunityCreate  = "CommunityCreate"
	schemaCommunityReplace = "CommunityReplace"
	schemaCommunityPlugin  = "CommunityPlugin"
	schemaPlugin           = "Plugin"
	schemaProcess          = "Process"
	schemaHooks            = "Hooks"
	schemaPluginMetadata   = "PluginMetadata"
	schemaActionMetadata   = "ActionMetadata"
	schemaProcessMetadata  = "ProcessMetadata"
	schemaEventMetadata    = "EventMetadata"
	schemaEvent            = "Event"

	paramCommunity         = "CommunityHeader"
	paramCommunityOptional = "CommunityHeaderOptional"
	paramPlatformID        = "PlatformIdHeader"
	paramWebhookID         = "WebhookIdHeader"
	paramWebhookTimestamp  = "WebhookTimestampHeader"
	paramWebhookSignature  = "WebhookSignatureHeader"

	headerCommunity  = "X-Metagov-Community"
	headerPlatformID = "X-Metagov-Community-Platform-Id"
)

// errorResponses describes, per status, when the gateway answers it. Every
// error body is an Error; operations list only the statuses that can occur.
var errorResponses = map[int]struct{ name, description string }{
	http.StatusBadRequest:            {"BadRequest", "The request is invalid: malformed JSON, a missing header, or input that does not match the schema (`field` names the offending property)."},
	http.StatusUnauthorized:          {"Unauthorized", "The webhook's signature did not verify."},
	http.StatusForbidden:             {"Forbidden", "The caller's API key may not make this request whatever the state, such as a key limited to communities choosing the slug of a new one (code `slug_not_allowed`)."},
	http.StatusNotFound:              {"NotFound", "The community, plugin instance, process or route does not exist."},
	http.StatusMethodNotAllowed:      {"MethodNotAllowed", "The resource does not support this operation, such as closing a process whose plugin cannot close it early."},
	http.StatusConflict:              {"Conflict", "The request conflicts with the current state, such as an existing slug, a process that already completed, or a plugin with processes that have not completed."},
	http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "The request body is larger than the gateway accepts."},
	http.StatusUnprocessableEntity:   {"PlatformRejected", "The platform refused the input as invalid (code `platform_rejected`): `detail` carries its message, `field` the input at fault when known. Change the input; the platform is not down."},
	http.StatusInternalServerError:   {"InternalError", "The gateway failed; `request_id` identifies the failure in its logs."},
	http.StatusBadGateway:            {"BadGateway", "The platform failed the request (code `platform_error`; `detail` carries its message), or the gateway's egress policy refused its address (code `egress_refused`; `detail` names the rule)."},
	http.StatusGatewayTimeout:        {"GatewayTimeout", "The platform did not answer in time."},
	http.StatusServiceUnavailable:    {"Unavailable", "The database cannot serve requests now (code `database_unavailable`: it refused the connection, is full or is shutting down); the request was fine. Send it again after `Retry-After` seconds."},
}

// errs returns the responses map of an operation: the given success
// responses plus references to the shared error responses.
func errs(codes ...int) map[string]any {
	out := map[string]any{}
	for _, c := range codes {
		out[strconv.Itoa(c)] = obj{"$ref": "#/components/responses/" + errorResponses[c].name}
		if c == http.StatusInternalServerError {
			// Whatever can fail inside can find the database unavailable.
			out["503"] = obj{"$ref": "#/components/responses/" + errorResponses[http.StatusServiceUnavailable].name}
		}
	}
	return out
}

func jsonContent(schema any) map[string]mediaType {
	return map[string]mediaType{"application/json": {Schema: schema}}
}

func jsonResponse(description string, schema any) response {
	return response{Description: description, Content: jsonContent(schema)}
}

func paramRef(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }

// addSharedComponents adds the schemas, error responses and header
// parameters that static and plugin routes share.
func (b *builder) addSharedComponents() {
	c := &b.doc.Components
	c.SecuritySchemes = map[string]any{"apiKey": obj{
		"type": "http", "scheme": "bearer",
		"description": "An API key from `metagov apikey create`, as `Authorization: Bearer <key>`. While no key " +
			"exists, the internal API answers loopback clients only, with no key (protected mode).",
	}}
	for code, e := range errorResponses {
		c.Responses[e.name] = response{
			Description: http.StatusText(code) + ". " + e.description,
			Content:     jsonContent(ref(schemaError)),
		}
	}

	c.Parameters[paramCommunity] = parameter{
		Name: headerCommunity, In: "header", Required: true,
		Description: "Slug of the community the request acts for.",
		Schema:      obj{"type": "string", "minLength": 1},
	}
	c.Parameters[paramCommunityOptional] = parameter{
		Name: headerCommunity, In: "header",
		Description: "Slug of a community; when present, the plugin instance must belong to it.",
		Schema:      obj{"type": "string", "minLength": 1},
	}
	c.Parameters[paramPlatformID] = parameter{
		Name: headerPlatformID, In: "header",
		Description: "Picks one instance when the community has several instances of the plugin (one per platform account). " +
			"Not needed when there is only one.",
		Schema: obj{"type": "string"},
	}

	// The Standard Webhooks headers of every delivery to the driver.
	c.Parameters[paramWebhookID] = parameter{
		Name: "webhook-id", In: "header", Required: true,
		Description: "The delivery's id, the same on every retry: drop a delivery whose id you have seen.",
		Schema:      obj{"type": "string"},
	}
	c.Parameters[paramWebhookTimestamp] = parameter{
		Name: "webhook-timestamp", In: "header", Required: true,
		Description: "When this attempt was signed, in seconds since the epoch.",
		Schema:      obj{"type": "string", "pattern": "^[0-9]+$"},
	}
	c.Parameters[paramWebhookSignature] = parameter{
		Name: "webhook-signature", In: "header", Required: true,
		Description: "`v1,<base64 HMAC-SHA256 of \"<webhook-id>.<webhook-timestamp>.<body>\">`, keyed with the webhook secret " +
			"(`metagov webhook-secret`); space-separated signatures during a rotation.",
		Schema: obj{"type": "string"},
	}

	pluginName := obj{"type": "string", "description": "Plugin name."}
	if len(b.pluginNames) > 0 {
		pluginName["enum"] = b.pluginNames
	}

	s := c.Schemas
	s[schemaError] = obj{
		"type":        "object",
		"description": "The body of every error response.",
		"required":    []string{"detail", "code"},
		"properties": obj{
			"detail":     str("What went wrong, for a person to read."),
			"code":       str("A stable, machine-readable error code, such as `not_found` or `invalid_input`."),
			"field":      str("The request property the error is about, when there is one."),
			"request_id": str("Identifies the request in the gateway's logs."),
		},
	}
	s[schemaPlugin] = obj{
		"type":        "object",
		"description": "A plugin instance: a community's connection to one platform account.",
		"required":    []string{"id", "name", "community", "community_platform_id", "auth_type", "config"},
		"properties": obj{
			"id":        obj{"type": "integer", "format": "int64", "readOnly": true},
			"name":      pluginName,
			"community": str("Slug of the community the instance belongs to."),
			"community_platform_id": obj{
				"type":        []string{"string", "null"},
				"description": "The platform account (workspace, server) this instance is for, when the plugin allows several per community.",
			},
			"auth_type": obj{"type": "string", "enum": []string{"none", "api_key", "oauth"}},
			"config":    openObject("The stored config, defaults filled in. Secret (writeOnly) properties are never returned."),
			"warnings": obj{
				"type":        "array",
				"items":       obj{"type": "string"},
				"readOnly":    true,
				"description": "Only in the answer to an enable or config change, when the plugin accepted it with caveats the driver should show, such as a webhook it could not register.",
			},
		},
	}
	s[schemaCommunity] = obj{
		"type":     "object",
		"required": []string{"slug", "readable_name", "plugins"},
		"properties": obj{
			"slug":          str("Unique identifier of the community, used in paths and in the `X-Metagov-Community` header."),
			"readable_name": str("Human-readable name; may be empty."),
			"plugins":       obj{"type": "array", "items": ref(schemaPlugin)},
			"warnings": obj{
				"type":        "array",
				"items":       obj{"type": "string"},
				"readOnly":    true,
				"description": "Only in the answer to a replacement that removed plugins, when one could not undo its setup on its platform (such as a webhook it registered).",
			},
		},
	}
	s[schemaCommunityPlugin] = obj{
		"type":        "object",
		"description": "A plugin to enable, with its config (which must match the schema `<name>.config`).",
		"required":    []string{"name"},
		"properties": obj{
			"name":   pluginName,
			"config": openObject("The plugin's config; omitted means `{}`."),
		},
	}
	s[schemaCommunityCreate] = obj{
		"type": "object",
		"properties": obj{
			"slug":          str("Unique identifier; a random UUID when omitted."),
			"readable_name": str("Human-readable name."),
			"plugins":       obj{"type": "array", "items": ref(schemaCommunityPlugin), "description": "Plugins to enable."},
		},
	}
	s[schemaCommunityReplace] = obj{
		"type": "object",
		"properties": obj{
			"name":          obj{"type": "string", "deprecated": true, "description": "Ignored; accepted because the Driver Tutorial sends it."},
			"readable_name": str("Human-readable name."),
			"plugins": obj{
				"type":        "array",
				"items":       ref(schemaCommunityPlugin),
				"description": "The complete set of plugins: listed ones are enabled or updated, others are disabled. Omitted means none.",
			},
		},
	}
	s[schemaHooks] = obj{
		"type":     "object",
		"required": []string{"hooks"},
		"properties": obj{
			"hooks": obj{
				"type":        "array",
				"items":       obj{"type": "string"},
				"description": "Webhook receiver paths of the community's enabled plugins, such as `/api/hooks/<community>/<plugin>`.",
			},
		},
	}
	s[schemaProcess] = obj{
		"type":     "object",
		"required": []string{"id", "name", "community", "status", "url", "errors", "outcome", "sequence"},
		"properties": obj{
			"id":        obj{"type": "integer", "format": "int64"},
			"name":      str("`<plugin>.<process>`."),
			"community": str("Slug of the community that started the process."),
			"status": obj{
				"type":        "string",
				"enum":        []string{"created", "pending", "completed"},
				"description": "`pending` while the process runs; `completed` once its outcome is final.",
			},
			"url":     obj{"type": []string{"string", "null"}, "description": "Where people take part in the process on the platform, if it has a page."},
			"errors":  openObject("Errors reported by the plugin while running the process."),
			"outcome": openObject("The current or final outcome; its shape is the process's `<plugin>.<process>.outcome` schema."),
			"sequence": obj{"type": "integer", "format": "int64", "minimum": 1,
				"description": "Increases with every change of the record: of several callbacks, keep the one with the highest."},
		},
	}
	s[schemaEvent] = obj{
		"type":        "object",
		"description": "An event for the driver, as POSTed to its event receiver and as pulled from `/api/internal/events`.",
		"required":    []string{"id", "community", "source", "event_type", "timestamp", "data", "initiator"},
		"properties": obj{
			"id":         obj{"type": "integer", "format": "int64", "description": "Unique per event: drop duplicates by it."},
			"community":  str("Slug of the community."),
			"source":     str("The plugin that emitted the event."),
			"event_type": str("Event type, such as `post_created`."),
			"timestamp":  str("When the event was recorded: seconds since the epoch with a fraction, as a string."),
			"data":       obj{"description": "The event's data; its shape is the `<plugin>.<event>.event` schema where the plugin declares one."},
			"initiator": obj{
				"type":        "object",
				"description": "Who acted on the platform. Plugins may add keys such as `user_name` and `is_metagov_bot`.",
				"required":    []string{"user_id", "provider"},
				"properties": obj{
					"user_id":  obj{"type": []string{"string", "null"}, "description": "The platform's id of the user; null when the platform does not say."},
					"provider": str("The identity provider, usually the plugin's name."),
				},
				"additionalProperties": true,
			},
		},
	}
	jsonSchemaValue := func(description string) obj {
		return obj{"type": []string{"object", "boolean", "null"}, "additionalProperties": true, "description": description}
	}
	s[schemaActionMetadata] = obj{
		"type":     "object",
		"required": []string{"id", "description", "parameters_schema", "response_schema", "is_public"},
		"properties": obj{
			"id":                str("`<plugin>.<action>`."),
			"description":       obj{"type": "string"},
			"parameters_schema": jsonSchemaValue("JSON Schema of the `parameters` object."),
			"response_schema":   jsonSchemaValue("JSON Schema of the result."),
			"is_public":         obj{"type": "boolean", "description": "Also served at `/api/action/<plugin>.<action>`."},
		},
	}
	s[schemaProcessMetadata] = obj{
		"type":     "object",
		"required": []string{"id", "description", "parameters_schema", "response_schema"},
		"properties": obj{
			"id":                str("`<plugin>.<process>`."),
			"description":       obj{"type": "string"},
			"parameters_schema": jsonSchemaValue("JSON Schema of the start parameters (without `callback_url`)."),
			"response_schema":   jsonSchemaValue("JSON Schema of the outcome."),
		},
	}
	s[schemaEventMetadata] = obj{
		"type":     "object",
		"required": []string{"event_type", "source", "schema"},
		"properties": obj{
			"event_type": str("Event type, such as `post_created`."),
			"source":     str("The plugin that emits it."),
			"schema":     jsonSchemaValue("JSON Schema of the event data."),
		},
	}
	s[schemaPluginMetadata] = obj{
		"type":     "object",
		"required": []string{"name", "description", "auth_type", "uses_webhook", "schemas"},
		"properties": obj{
			"name":         str("Plugin name."),
			"description":  str("One-line summary."),
			"auth_type":    obj{"type": "string", "enum": []string{"none", "api_key", "oauth"}},
			"uses_webhook": obj{"type": "boolean", "description": "Whether instances receive webhooks at `/api/hooks/<community>/<plugin>`."},
			"schemas": obj{
				"type":     "object",
				"required": []string{"config", "actions", "processes", "events"},
				"properties": obj{
					"config":    jsonSchemaValue("JSON Schema of the config."),
					"actions":   obj{"type": "array", "items": ref(schemaActionMetadata)},
					"processes": obj{"type": "array", "items": ref(schemaProcessMetadata)},
					"events":    obj{"type": "array", "items": ref(schemaEventMetadata)},
				},
			},
		},
	}
}
