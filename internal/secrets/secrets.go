// Package secrets encrypts plugin secrets at rest with AES-256-GCM. A sealed
// value names the key that sealed it, so values sealed with an older key
// still open during a rotation.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// prefix marks a sealed value: enc:v1:<key id>:<base64 nonce and ciphertext>.
const prefix = "enc:v1:"

// KeySize is the size of a key in bytes.
const KeySize = 32

// Box seals with its first key and opens with any of its keys.
type Box struct {
	ids   []string
	aeads map[string]cipher.AEAD
	keys  [][]byte
}

// NewBox returns a box that seals with keys[0].
func NewBox(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("secrets: no key")
	}
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secrets: a key must be %d bytes, not %d", KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		id := KeyID(k)
		b.keys = append(b.keys, append([]byte(nil), k...))
		b.ids = append(b.ids, id)
		b.aeads[id] = aead
	}
	return b, nil
}

// KeyID names a key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// Seal encrypts plain.
func (b *Box) Seal(plain []byte) string {
	id := b.ids[0]
	aead := b.aeads[id]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, plain, []byte(id))
	return prefix + id + ":" + base64.RawStdEncoding.EncodeToString(sealed)
}

// Derive returns a key for another purpose (purpose names it, such as
// "oauth-state") from each of the box's keys, the sealing key's first:
// HKDF-SHA256, so a derived key reveals nothing of the key it came from and
// keys for different purposes are unrelated. Sign with the first; during a
// rotation accept any.
func (b *Box) Derive(purpose string) [][]byte {
	out := make([][]byte, 0, len(b.keys))
	for _, k := range b.keys {
		d, err := hkdf.Key(sha256.New, k, nil, "metagov "+purpose, KeySize)
		if err != nil { // only for lengths HKDF cannot produce
			panic("secrets: deriving a key: " + err.Error())
		}
		out = append(out, d)
	}
	return out
}

// IsSealed reports whether s is a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }

// Open decrypts a sealed value.
func (b *Box) Open(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, errors.New("secrets: not a sealed value")
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("secrets: malformed sealed value")
	}
	aead, ok := b.aeads[id]
	if !ok {
		return nil, fmt.Errorf("secrets: sealed with key %s, which is not configured", id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("secrets: malformed sealed value")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("secrets: opening a value sealed with key %s: %w", id, err)
	}
	return plain, nil
}

// NewKey returns a random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// EncodeKey renders a key for METAGOV_SECRET_KEY or a key file.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// DecodeKeys parses space- or newline-separated encoded keys, the sealing
// key first.
func DecodeKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for _, f := range strings.Fields(s) {
		k, err := DecodeKey(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("secrets: no key")
	}
	return keys, nil
}

// DecodeKey parses an encoded key.
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("secrets: a key is %d bytes in base64", KeySize)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads the keys in path (one per line, the sealing key
// first), or creates the file with a new key (mode 0600). created reports
// which.
func LoadOrCreateKeyFile(path string) (keys [][]byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		keys, err := DecodeKeys(string(data))
		return keys, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("reading key file: %w", err)
	}
	k := NewKey()
	if err := WriteKeyFile(path, k); err != nil {
		return nil, false, err
	}
	return [][]byte{k}, true, nil
}

// WriteKeyFile replaces the keys in path atomically, the sealing key first.
func WriteKeyFile(path string, keys ...[]byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".metagov-key-*")
	if err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	var text strings.Builder
	for _, k := range keys {
		text.WriteString(EncodeKey(k) + "\n")
	}
	if _, err := tmp.WriteString(text.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	return nil
}
