package opencollectivefake

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// schemaRel is where Open Collective's published schema lives in the
// shared directory (see internal/platformdocs).
var schemaRel = filepath.Join("platforms", "opencollective", "schemaV2.graphql")

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

// loadSchema parses Open Collective's published GraphQL v2 schema once per
// test binary; every request the fake answers is validated against it. It is
// nil, without an error, when the schema is absent and not required: the fake
// then runs without validation.
func loadSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		path, found, err := platformdocs.Find(schemaRel)
		if err != nil || !found {
			schemaErr = err
			return
		}
		src, err := os.ReadFile(path)
		if err != nil {
			schemaErr = fmt.Errorf("reading the Open Collective schema: %w", err)
			return
		}
		s, err := gqlparser.LoadSchema(&ast.Source{Name: filepath.Base(path), Input: string(src)})
		if err != nil {
			schemaErr = fmt.Errorf("loading the Open Collective schema %s: %w", path, err)
			return
		}
		schema = s
	})
	return schema, schemaErr
}
