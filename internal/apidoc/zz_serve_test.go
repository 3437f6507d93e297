package apidoc

import (
	"net/http"
	"testing"
	"time"
)

func TestZZServe(t *testing.T) {
	doc := buildTestDoc(t)
	redoc, _ := RedocHandler(doc)
	mux := http.NewServeMux()
	mux.Handle("GET "+SpecPath, SpecHandler(doc))
	mux.Handle("GET "+SwaggerPath, SwaggerHandler(SpecPath))
	mux.Handle("GET "+RedocPath, redoc)
	srv := &http.Server{Addr: "127.0.0.1:18080", Handler: mux}
	go srv.ListenAndServe()
	time.Sleep(60 * time.Second)
	srv.Close()
}
