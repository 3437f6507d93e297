package core_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the dependency direction of CONTRIBUTING.md's
// layout: core is below the HTTP API, the job queue and the assembly, so it
// imports none of them, nor River (the job kinds live in internal/jobs).
func TestImportsPointDown(t *testing.T) {
	forbidden := []string{
		"github.com/riverqueue/",
		"github.com/metagov/metagov-go/internal/jobs",
		"github.com/metagov/metagov-go/internal/delivery",
		"github.com/metagov/metagov-go/internal/httpapi",
		"github.com/metagov/metagov-go/internal/apidoc",
		"github.com/metagov/metagov-go/internal/app",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, prefix := range forbidden {
				if path == prefix || strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/") {
					t.Errorf("%s imports %s: core must not depend on it (see CONTRIBUTING.md's layout)", name, path)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no source files of the package")
	}
}
