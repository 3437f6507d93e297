// Package platformdocs finds the platforms' published API descriptions
// (shared/platforms: Discourse's OpenAPI document, Open Collective's GraphQL
// schema) that the platform fakes check every request against.
//
// They are not part of the repository. They are looked up under
// $METAGOV_SHARED_DIR when it is set, and then they must be there (CI sets
// it, so CI always validates); otherwise beside the repository, in
// ../shared, and when they are not there either the fakes run without that
// validation and say so in the test log, so that `go test ./...` passes on a
// clean clone anywhere.
package platformdocs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// DirEnv names the variable pointing at the shared directory, the one that
// holds platforms/.
const DirEnv = "METAGOV_SHARED_DIR"

// Find locates rel (such as "platforms/discourse/openapi.json") in the
// shared directory. found is false, with a nil error, when the variable is
// not set and the file is not beside the repository; a file missing where
// $METAGOV_SHARED_DIR says it is, is an error.
func Find(rel string) (path string, found bool, err error) {
	if dir := os.Getenv(DirEnv); dir != "" {
		path = filepath.Join(dir, rel)
		if _, err := os.Stat(path); err != nil {
			return path, false, fmt.Errorf("%s is set to %s, but: %w", DirEnv, dir, err)
		}
		return path, true, nil
	}
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/platformdocs/platformdocs.go.
	path = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", rel)
	switch _, err := os.Stat(path); {
	case err == nil:
		return path, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return path, false, nil
	default:
		return path, false, err
	}
}

// Missing is the test-log line of a fake that runs without validation.
func Missing(fake, rel string) string {
	return fmt.Sprintf("%s: %s not found beside the repository and %s not set: "+
		"requests are NOT checked against the platform's published description", fake, rel, DirEnv)
}
