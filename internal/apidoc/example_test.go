package apidoc_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/metagov/metagov-go/internal/apidoc"
	"github.com/metagov/metagov-go/internal/pluginrt"
)

// Example shows how internal/httpapi mounts the documentation: the document
// is built once at start from the registered plugins and served as is.
func Example() {
	doc, err := apidoc.Build(pluginrt.List(), apidoc.Options{Version: "1.0.0"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+apidoc.SpecPath, apidoc.SpecHandler(doc))
	mux.Handle("GET /swagger.json", apidoc.SpecHandler(doc))
	swagger := apidoc.SwaggerHandler(apidoc.SpecPath)
	mux.Handle("GET "+apidoc.SwaggerPath, swagger)
	mux.Handle("GET "+apidoc.SwaggerPath+"/", swagger)
	mux.Handle("GET "+apidoc.RedocPath, apidoc.RedocHandler(apidoc.SpecPath))
	mux.Handle("GET /{$}", http.RedirectHandler(apidoc.SwaggerPath, http.StatusFound))

	for _, path := range []string{"/", "/openapi.json", "/swagger.json", "/swagger", "/swagger/", "/redoc"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if loc := rec.Header().Get("Location"); loc != "" {
			fmt.Println(path, rec.Code, "->", loc)
		} else {
			fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	// Output:
	// / 302 -> /swagger
	// /openapi.json 200 application/json
	// /swagger.json 200 application/json
	// /swagger 200 text/html
	// /swagger/ 200 text/html
	// /redoc 200 text/html
}
