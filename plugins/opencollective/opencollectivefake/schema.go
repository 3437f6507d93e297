package opencollectivefake

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// SharedDirEnv names a variable that points at the shared reference
// directory (the one holding platforms/opencollective/schemaV2.graphql),
// for checkouts where it does not sit beside the repository as ../shared.
const SharedDirEnv = "METAGOV_SHARED_DIR"

var (
	schemaOnce sync.Once
	schema     *ast.Schema
	schemaErr  error
)

// loadSchema parses Open Collective's published GraphQL v2 schema once per
// test binary; every request the fake answers is validated against it.
func loadSchema() (*ast.Schema, error) {
	schemaOnce.Do(func() {
		path := schemaPath()
		src, err := os.ReadFile(path)
		if err != nil {
			schemaErr = fmt.Errorf("reading the Open Collective schema (set %s to the shared directory): %w", SharedDirEnv, err)
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

// schemaPath finds schemaV2.graphql: under $METAGOV_SHARED_DIR, else in
// ../shared beside the repository root, which is three directories above
// this file.
func schemaPath() string {
	rel := filepath.Join("platforms", "opencollective", "schemaV2.graphql")
	if dir := os.Getenv(SharedDirEnv); dir != "" {
		return filepath.Join(dir, rel)
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	return filepath.Join(root, "..", "shared", rel)
}
