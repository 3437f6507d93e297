package secrets_test

import (
	"bytes"
	"testing"

	"github.com/metagov/metagov-go/internal/secrets"
)

// TestDerive: derived keys are stable for a key and purpose, differ by
// purpose and from the key itself, and follow the box's key order, so a
// rotation keeps accepting what the old key signed.
func TestDerive(t *testing.T) {
	oldKey, newKey := secrets.NewKey(), secrets.NewKey()
	before, err := secrets.NewBox(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	during, err := secrets.NewBox(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	a := before.Derive("oauth-state")
	b := during.Derive("oauth-state")
	if len(a) != 1 || len(b) != 2 {
		t.Fatalf("one derived key per box key: got %d and %d", len(a), len(b))
	}
	if !bytes.Equal(a[0], b[1]) {
		t.Error("the old key derives the same key in both boxes")
	}
	if bytes.Equal(b[0], b[1]) {
		t.Error("different keys derive different keys")
	}
	if bytes.Equal(a[0], before.Derive("other")[0]) {
		t.Error("different purposes derive different keys")
	}
	if bytes.Equal(a[0], oldKey) || len(a[0]) != secrets.KeySize {
		t.Errorf("a derived key is a new %d-byte key", secrets.KeySize)
	}
}
