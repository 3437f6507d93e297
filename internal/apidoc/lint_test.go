package apidoc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lint reports each rule it checks on a document that breaks them all.
func TestLintReportsProblems(t *testing.T) {
	doc := `{
		"openapi": "3.1.0",
		"info": {"title": "t", "version": "1"},
		"tags": [{"name": "known"}],
		"paths": {
			"/things/": {"get": {"operationId": "a", "summary": "s", "tags": ["known"], "security": [],
				"responses": {"200": {"description": "ok"}}}},
			"/go": {"get": {"operationId": "c", "summary": "a redirect is a success", "tags": ["known"], "security": [],
				"responses": {"302": {"description": "elsewhere"}}}},
			"/things/{id}": {"get": {"operationId": "a", "tags": ["unknown"],
				"parameters": [{"name": "other", "in": "path", "required": true, "schema": {}},
					{"$ref": "#/components/parameters/Q"}, {"$ref": "#/components/parameters/Q"}],
				"responses": {"404": {"$ref": "#/components/responses/Missing"}}}}
		},
		"webhooks": {"ping": {"post": {"operationId": "b", "summary": "s", "tags": ["known"],
			"security": [{"nope": []}], "responses": {"200": {"description": "ok"}}}}},
		"components": {
			"schemas": {"Unused": {"type": "object", "properties": {"x": {"const": {"$ref": "#/not/a/reference"}}}}},
			"parameters": {"Q": {"name": "q", "in": "query", "schema": {}}},
			"securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}
		}
	}`
	problems, err := Lint([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"no-empty-servers: the document has no servers",
		"no-path-trailing-slash: /things/",
		"no-unresolved-refs: #/components/responses/Missing at #/paths//things/{id}/get/responses/404 does not resolve",
		"no-unused-components: components.schemas.Unused is never referenced",
		"no-unused-components: components.securitySchemes.key is never referenced",
		"operation-2xx-response: GET /things/{id} has no 2xx response",
		`operation-operationId-unique: "a" is used by GET /things/ and GET /things/{id}`,
		`operation-parameters-unique: GET /things/{id} declares query parameter "q" twice`,
		"operation-summary: GET /things/{id} has none",
		`operation-tag-defined: GET /things/{id} uses tag "unknown", which is not declared`,
		`path-parameters-defined: GET /things/{id}: path parameter "other" is not in the path`,
		"path-parameters-defined: GET /things/{id}: {id} is not a declared path parameter",
		"security-defined: GET /things/{id} does not say how it is secured (use [] for a public operation)",
		`security-defined: webhook ping uses the undeclared scheme "nope"`,
	}, problems)

	_, err = Lint([]byte(`{"openapi": `))
	require.Error(t, err)
}
