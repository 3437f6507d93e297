// Package apidoc describes the gateway's HTTP API in OpenAPI 3.1 and serves
// the documentation pages, all without network access.
//
// The document is assembled once at start from the plugin registry: static
// routes (communities, plugins, webhooks, docs) come from hand-written schema
// literals, and every plugin adds literal routes for its actions and
// processes whose bodies reference the plugin's own JSON Schemas in
// components.schemas. Plugin schemas are JSON Schema 2020-12, which an
// OpenAPI 3.1 Schema Object is, so they are embedded as they are instead of
// being converted.
//
// The package knows nothing about routing or storage; internal/httpapi mounts
// its handlers:
//
//	doc, err := apidoc.Build(pluginrt.List(), apidoc.Options{Version: version})
//	if err != nil { ... }
//	mux.Handle("GET "+apidoc.SpecPath, apidoc.SpecHandler(doc))
//	mux.Handle("GET /swagger.json", apidoc.SpecHandler(doc))
//	swagger := apidoc.SwaggerHandler(apidoc.SpecPath)
//	mux.Handle("GET "+apidoc.SwaggerPath, swagger)
//	mux.Handle("GET "+apidoc.SwaggerPath+"/", swagger)
//	mux.Handle("GET "+apidoc.RedocPath, apidoc.RedocHandler(apidoc.SpecPath))
//	mux.Handle("GET /{$}", http.RedirectHandler(apidoc.SwaggerPath, http.StatusFound))
//
// Lint checks the document against the rules of Redocly's "recommended"
// ruleset that matter to the gateway; the tests run it on every build of the
// document.
package apidoc

// The paths the documentation is served at. They are part of the API
// contract (the original served /swagger.json, /swagger/ and /redoc).
const (
	// SpecPath serves the OpenAPI document; /swagger.json serves the same.
	SpecPath = "/openapi.json"
	// SwaggerPath serves Swagger UI; its assets are served below it.
	SwaggerPath = "/swagger"
	// RedocPath, where the original served ReDoc, serves Swagger UI too.
	RedocPath = "/redoc"
)
