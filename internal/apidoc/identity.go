package apidoc

import "net/http"

// The OAuth install routes and the identity API.

const (
	tagAuth     = "Plugin Auth"
	tagIdentity = "Identity"
)

func linkTypeSchema() obj {
	return obj{"type": "string", "enum": []string{"oauth", "manual admin", "email matching", "unknown"}, "default": "unknown"}
}

func linkQualitySchema() obj {
	return obj{"type": "string", "enum": []string{"unknown", "unconfirmed", "confirmed (weak)", "confirmed (strong)"},
		"default": "unknown", "description": "Ordered weakest first."}
}

func accountSchema() obj {
	return obj{"type": "object", "required": []string{"external_id", "community", "community_platform_id", "platform_type",
		"platform_identifier", "custom_data", "link_type", "link_quality"}, "properties": obj{
		"external_id":           obj{"type": "integer"},
		"community":             str("Community slug."),
		"community_platform_id": obj{"type": []string{"string", "null"}},
		"platform_type":         str("The plugin name."),
		"platform_identifier":   str("The user's id on the platform."),
		"custom_data":           anyObject(),
		"link_type":             linkTypeSchema(),
		"link_quality":          linkQualitySchema(),
	}}
}

func identitySchema() obj {
	return obj{"type": "object", "required": []string{"source_ID", "primary_ID", "linked_accounts"}, "properties": obj{
		"source_ID":       obj{"type": "integer", "description": "The external id asked for."},
		"primary_ID":      obj{"type": "integer", "description": "The external id of the primary of its merged group."},
		"linked_accounts": obj{"type": "array", "items": accountSchema(), "description": "The accounts of every identity in the group."},
	}}
}

func accountFilters() []any {
	return []any{
		queryParam("platform_type", "Plugin name."), queryParam("community_platform_id", "Platform account of the instance."),
		queryParam("link_type", "oauth, manual admin, email matching or unknown."),
		queryParam("link_quality", "unknown, unconfirmed, confirmed (weak) or confirmed (strong)."),
	}
}

func redirect(description string) response {
	return response{Description: description, Headers: map[string]header{
		"Location": {Required: true, Schema: obj{"type": "string", "format": "uri"}},
	}}
}

func requiredQuery(name, description string) parameter {
	p := queryParam(name, description)
	p.Required = true
	return p
}

func (b *builder) addAuthAndIdentityRoutes() error {
	pluginParam := pathParam("plugin", "Plugin name.", b.pluginNameSchema())
	jsonBody := func(required []string, props obj) *requestBody {
		return &requestBody{Required: true, Content: jsonContent(obj{"type": "object", "required": required, "properties": props})}
	}
	identities := obj{"type": "array", "items": identitySchema()}
	ops := []struct {
		method, path string
		op           *operation
	}{
		{http.MethodGet, "/auth/{plugin}/authorize", &operation{
			OperationID: "oauthAuthorize", Tags: []string{tagAuth},
			Summary: "Start an OAuth install or login",
			Description: "Redirects the user's browser to the platform with a signed state that expires in 10 minutes. " +
				"`redirect_uri` must start with a prefix in `METAGOV_OAUTH_REDIRECT_ALLOW`. For `type=app` without `community`, " +
				"a community is created when the install succeeds.",
			Parameters: []any{pluginParam,
				parameter{Name: "type", In: "query", Description: "app (install for a community) or user (log a platform user in).",
					Schema: obj{"type": "string", "enum": []string{"app", "user"}, "default": "app"}},
				queryParam("community", "Community slug to install into."),
				requiredQuery("redirect_uri", "Where the user comes back to."),
				queryParam("state", "The driver's opaque state, handed back unchanged."),
				queryIntParam("metagov_id", "The identity (external id) of the person authorizing, linked to their platform account."),
			},
			Responses: with(errs(400, 404, 500), map[int]any{302: redirect("To the platform's authorization page.")}),
		}},
		{http.MethodGet, "/auth/{plugin}/callback", &operation{
			OperationID: "oauthCallback", Tags: []string{tagAuth},
			Summary: "The platform's OAuth callback",
			Description: "Completes the install and redirects back to the driver's `redirect_uri` with `state` and `community`, " +
				"`user_token_ref` when there is a user token, what the plugin adds (`user_id`, …), and on failure `error` and " +
				"`error_description`. A state that is missing or not genuine is a 400.",
			Parameters: []any{pluginParam, requiredQuery("state", "The gateway's signed state."),
				queryParam("code", "The authorization code."), queryParam("error", "The platform's error.")},
			Responses: with(errs(400, 404, 500), map[int]any{302: redirect("Back to the driver's redirect_uri.")}),
		}},
		{http.MethodPost, "/api/internal/oauth/token", &operation{
			OperationID: "oauthUserToken", Tags: []string{tagAuth},
			Summary:     "Fetch an installer's user token, once",
			Description: "Exchanges the `user_token_ref` of an install's redirect (valid 10 minutes, usable once) for the token.",
			RequestBody: jsonBody([]string{"ref"}, obj{"ref": str("The user_token_ref of the redirect.")}),
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("The token.", obj{"type": "object", "properties": obj{
				"user_token": str(""), "user_id": str(""), "plugin": str(""), "community": str(""),
			}})}),
		}},
		{http.MethodPost, "/api/internal/identity/create_id", &operation{
			OperationID: "identityCreateID", Tags: []string{tagIdentity}, Summary: "Create identities",
			RequestBody: jsonBody([]string{"community_slug"}, obj{"community_slug": str("Community slug."),
				"count": obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}}),
			Responses: with(errs(400, 404, 500), map[int]any{201: jsonResponse("Their external ids.",
				obj{"type": "array", "items": obj{"type": "integer"}})}),
		}},
		{http.MethodPost, "/api/internal/identity/merge_ids", &operation{
			OperationID: "identityMergeIDs", Tags: []string{tagIdentity}, Summary: "Merge two identities of a community",
			Description: "The secondary's whole group joins the primary's group, led by the primary's primary.",
			RequestBody: jsonBody([]string{"primary_instance_id", "secondary_instance_id"}, obj{
				"primary_instance_id": obj{"type": "integer"}, "secondary_instance_id": obj{"type": "integer"}}),
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("The merged identity.", identitySchema())}),
		}},
		{http.MethodPost, "/api/internal/identity/link_account", &operation{
			OperationID: "identityLinkAccount", Tags: []string{tagIdentity}, Summary: "Link a platform account to an identity",
			RequestBody: jsonBody([]string{"external_id", "community_slug", "platform_type", "platform_identifier"}, obj{
				"external_id": obj{"type": "integer"}, "community_slug": str(""), "platform_type": str("A plugin enabled for the community."),
				"platform_identifier": str(""), "community_platform_id": str(""), "custom_data": anyObject(),
				"link_type": linkTypeSchema(), "link_quality": linkQualitySchema()}),
			Responses: with(errs(400, 404, 409, 500), map[int]any{200: jsonResponse("The account.", accountSchema())}),
		}},
		{http.MethodPost, "/api/internal/identity/unlink_account", &operation{
			OperationID: "identityUnlinkAccount", Tags: []string{tagIdentity}, Summary: "Unlink a platform account",
			RequestBody: jsonBody([]string{"community_slug", "platform_type", "platform_identifier"}, obj{
				"community_slug": str(""), "platform_type": str(""), "platform_identifier": str(""), "community_platform_id": str("")}),
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("true", obj{"type": "boolean", "const": true})}),
		}},
		{http.MethodGet, "/api/internal/identity/get_user", &operation{
			OperationID: "identityGetUser", Tags: []string{tagIdentity}, Summary: "Get an identity",
			Parameters: []any{requiredQuery("external_id", "External id.")},
			Responses:  with(errs(400, 404, 500), map[int]any{200: jsonResponse("The identity.", identitySchema())}),
		}},
		{http.MethodGet, "/api/internal/identity/get_users", &operation{
			OperationID: "identityGetUsers", Tags: []string{tagIdentity}, Summary: "List a community's users",
			Description: "Without filters every primary identity; with filters the primaries of the identities with a matching account, each once.",
			Parameters: append([]any{requiredQuery("community", "Community slug."),
				queryParam("platform_identifier", "The user's id on the platform.")}, accountFilters()...),
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("The identities.", identities)}),
		}},
		{http.MethodGet, "/api/internal/identity/filter_users_by_account", &operation{
			OperationID: "identityFilterUsersByAccount", Tags: []string{tagIdentity},
			Summary: "Keep the listed identities with a matching account of their own",
			Parameters: append([]any{requiredQuery("community", "Community slug."),
				requiredQuery("external_id_list", "External ids: repeated, comma separated or a JSON array.")}, accountFilters()...),
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("The identities.", identities)}),
		}},
		{http.MethodGet, "/api/internal/identity/get_linked_account", &operation{
			OperationID: "identityGetLinkedAccount", Tags: []string{tagIdentity},
			Summary: "Get an identity's own account on a platform",
			Parameters: []any{requiredQuery("external_id", "External id."), requiredQuery("platform_type", "Plugin name."),
				queryParam("community_platform_id", "Platform account; none matches an account without one.")},
			Responses: with(errs(400, 404, 500), map[int]any{200: jsonResponse("The account, or {} when there is none.",
				obj{"oneOf": []any{accountSchema(), obj{"type": "object", "maxProperties": 0}}})}),
		}},
	}
	for _, o := range ops {
		if err := b.addOp(o.method, o.path, o.op); err != nil {
			return err
		}
	}
	return nil
}
