package nearfake

import (
	"encoding/binary"
	"errors"
	"math/big"
)

// reader decodes Borsh by hand, independently of the plugin's encoder, so
// that a layout mistake on either side fails the tests.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("borsh: unexpected end of data")

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *reader) u128() *big.Int {
	b := r.take(16)
	if b == nil {
		return new(big.Int)
	}
	be := make([]byte, 16)
	for i := range b {
		be[15-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func (r *reader) bytes() []byte {
	return r.take(int(r.u32()))
}

func (r *reader) str() string { return string(r.bytes()) }

// Transaction is a decoded function-call transaction.
type Transaction struct {
	SignerID   string
	PublicKey  []byte // ed25519
	Nonce      uint64
	ReceiverID string
	BlockHash  []byte
	Calls      []FunctionCall
	// Raw is the transaction's Borsh bytes, which the signature covers.
	Raw []byte
	// Hash is the base58 SHA-256 of Raw, the transaction's id.
	Hash string
}

// FunctionCall is one FunctionCall action.
type FunctionCall struct {
	MethodName string
	Args       []byte
	Gas        uint64
	Deposit    *big.Int
}

// decodeSigned reads a SignedTransaction: the transaction, then a
// signature (key type 0, 64 bytes). Only ed25519 keys and FunctionCall
// actions (variant 2) are accepted.
func decodeSigned(b []byte) (*Transaction, []byte, error) {
	r := &reader{b: b}
	tx := &Transaction{}
	tx.SignerID = r.str()
	if r.u8() != 0 {
		return nil, nil, errors.New("public key is not ed25519")
	}
	tx.PublicKey = r.take(32)
	tx.Nonce = r.u64()
	tx.ReceiverID = r.str()
	tx.BlockHash = r.take(32)
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if v := r.u8(); v != 2 {
			return nil, nil, errors.New("only FunctionCall actions are expected")
		}
		tx.Calls = append(tx.Calls, FunctionCall{MethodName: r.str(), Args: r.bytes(), Gas: r.u64(), Deposit: r.u128()})
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	tx.Raw = b[:len(b)-len(r.b)]
	if r.u8() != 0 {
		return nil, nil, errors.New("signature is not ed25519")
	}
	sig := r.take(64)
	if r.err != nil {
		return nil, nil, r.err
	}
	if len(r.b) != 0 {
		return nil, nil, errors.New("trailing bytes after the signature")
	}
	return tx, sig, nil
}
