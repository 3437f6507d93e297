package discourse

import (
	"crypto/md5"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOptionDigest checks the digest against option ids Discourse's own
// poll plugin specs use ("A" and "B" of "[poll]\n- A\n- B\n[/poll]").
func TestOptionDigest(t *testing.T) {
	t.Parallel()
	require.Equal(t, "5c24fc1df56d764b550ceae1b9319125", optionDigest("A"))
	require.Equal(t, "e89dec30bbd9bf50fabf6a05b4324edf", optionDigest(" B "), "trimmed as a list item is")
	require.Equal(t, optionDigest("Tea & <b>"), md5Hex(`["Tea & <b>"]`), "no HTML escaping, as JSON.stringify")
	require.Equal(t, optionDigest("a\u2028b"), md5Hex("[\"a\u2028b\"]"), "U+2028 left alone, as JSON.stringify")
	require.Equal(t, optionDigest(`say "hi"`), md5Hex(`["say \"hi\""]`))
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
