package vote

import (
	"encoding/json"

	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// Paginate stores ballots, sorted by voter, as the plugin's pages of a
// poll would hold them once upgraded from one key per voter: for the
// benchmarks to load ballots straight into the store.
func Paginate(processID int64, ballots []tally.Ballot, fn func(key string, value json.RawMessage) error) error {
	return paginate(pagePrefix(processID), ballots, pageMax*3/4, fn)
}

// EncodePage and ReadPage are encodePage and readPage, for the tests of
// the page format.
var (
	EncodePage = encodePage
	ReadPage   = readPage
)
