package near

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	bin "github.com/gagliardetto/binary"
	"github.com/mr-tron/base58"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultGas is the gas a call attaches when the caller names none, as
// near-api-py did: 100 Tgas. MaxGas is NEAR's limit for one transaction.
const (
	DefaultGas = 100_000_000_000_000
	MaxGas     = 300_000_000_000_000
)

var (
	viewInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"method_name": {"type": "string", "minLength": 1, "maxLength": 256, "description": "The contract's view method."},
		"args": {"type": "object", "description": "The method's arguments, sent as JSON."}
	},
	"required": ["method_name"]
}`)
	viewOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"result": {"description": "The method's return value: its JSON, or the text it returned when that is not JSON."},
		"logs": {"type": "array", "items": {"type": "string"}},
		"block_height": {"type": "integer"},
		"block_hash": {"type": "string"}
	},
	"required": ["result"]
}`)
	callInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"method_name": {"type": "string", "minLength": 1, "maxLength": 256, "description": "The contract's method."},
		"args": {"type": "object", "description": "The method's arguments, sent as JSON."},
		"gas": {"type": ["integer", "string"], "pattern": "^[0-9]{1,20}$", "minimum": 1, "maximum": 300000000000000,
			"description": "Gas to attach, in gas units (default 100 Tgas, at most 300 Tgas)."},
		"amount": {"type": ["integer", "string"], "pattern": "^[0-9]{1,39}$", "minimum": 0,
			"description": "yoctoNEAR to attach (10^24 a NEAR): a decimal string for amounts beyond 2^53, or an integer; default 0."}
	},
	"required": ["method_name"]
}`)
	callOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"status": {"type": "object"},
		"transaction": {"type": "object"},
		"transaction_outcome": {"type": "object"},
		"receipts_outcome": {"type": "array"}
	},
	"required": ["status"],
	"description": "The node's final execution outcome of the transaction."
}`)
)

type viewParams struct {
	MethodName string          `json:"method_name"`
	Args       json.RawMessage `json:"args"`
}

type callParams struct {
	MethodName string          `json:"method_name"`
	Args       json.RawMessage `json:"args"`
	Gas        json.RawMessage `json:"gas"`
	Amount     json.RawMessage `json:"amount"`
}

// argsBytes is the JSON the method receives: the args object, or {}.
func argsBytes(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("{}")
	}
	return raw
}

// view calls a view method.
func (n *Near) view(ctx context.Context, _ *plugin.Call, in viewParams) (map[string]any, error) {
	res, err := n.rpc.call(ctx, "query", map[string]any{
		"request_type": "call_function", "finality": "final", "account_id": n.contractID,
		"method_name": in.MethodName, "args_base64": base64.StdEncoding.EncodeToString(argsBytes(in.Args)),
	})
	if err != nil {
		return nil, fmt.Errorf("viewing %s.%s: %w", n.contractID, in.MethodName, platformError(err, map[string]string{
			"CONTRACT_EXECUTION_ERROR": "/method_name", "PARSE_ERROR": "/args"}))
	}
	var out struct {
		Result      []byte   `json:"-"`
		RawResult   []int    `json:"result"`
		Logs        []string `json:"logs"`
		BlockHeight uint64   `json:"block_height"`
		BlockHash   string   `json:"block_hash"`
		Error       string   `json:"error"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, &plugin.PlatformError{Platform: platform, Message: "the query's result is not a call_function answer: " + err.Error()}
	}
	if out.Error != "" {
		// Older nodes put a failed execution in the result.
		return nil, &plugin.PlatformError{Platform: platform, Message: out.Error, Rejected: true, Field: "/method_name"}
	}
	value := make([]byte, len(out.RawResult))
	for i, b := range out.RawResult {
		if b < 0 || b > 255 {
			return nil, &plugin.PlatformError{Platform: platform, Message: "the query's result is not a byte array"}
		}
		value[i] = byte(b)
	}
	var decoded any = string(value)
	if json.Valid(value) {
		decoded = json.RawMessage(value)
	}
	logs := out.Logs
	if logs == nil {
		logs = []string{}
	}
	return map[string]any{"result": decoded, "logs": logs, "block_height": out.BlockHeight, "block_hash": out.BlockHash}, nil
}

// Borsh layouts of NEAR's transaction types (nearcore's
// core/primitives/src/transaction.rs), in field order.
type (
	publicKey struct {
		KeyType uint8 // 0: ed25519
		Data    [32]byte
	}
	functionCallAction struct {
		MethodName string
		Args       []byte
		Gas        uint64
		Deposit    bin.Uint128
	}
	// action is NEAR's Action enum; only FunctionCall (variant 2) is sent.
	action struct {
		Enum           bin.BorshEnum `borsh_enum:"true"`
		CreateAccount  bin.EmptyVariant
		DeployContract struct{ Code []byte }
		FunctionCall   functionCallAction
	}
	transaction struct {
		SignerID   string
		PublicKey  publicKey
		Nonce      uint64
		ReceiverID string
		BlockHash  [32]byte
		Actions    []action
	}
	signature struct {
		KeyType uint8
		Data    [64]byte
	}
	signedTransaction struct {
		Transaction transaction
		Signature   signature
	}
)

// decodeUint reads a non-negative integer given as a JSON integer or a
// decimal string, at most max.
func decodeUint(raw json.RawMessage, def, max *big.Int, field string) (*big.Int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	s := strings.Trim(string(raw), `"`)
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 || v.Cmp(max) > 0 {
		return nil, &plugin.InputError{Field: field, Message: fmt.Sprintf("must be a whole number from 0 to %s", max)}
	}
	return v, nil
}

var maxU128 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// call signs and sends a function-call transaction. A nonce another call
// took first (InvalidNonce) is retried with a fresh one, twice at most.
func (n *Near) call(ctx context.Context, _ *plugin.Call, in callParams) (json.RawMessage, error) {
	gas, err := decodeUint(in.Gas, big.NewInt(DefaultGas), big.NewInt(MaxGas), "/gas")
	if err != nil {
		return nil, err
	}
	if gas.Sign() == 0 {
		return nil, &plugin.InputError{Field: "/gas", Message: "gas must be at least 1"}
	}
	amount, err := decodeUint(in.Amount, big.NewInt(0), maxU128, "/amount")
	if err != nil {
		return nil, err
	}
	var deposit bin.Uint128
	deposit.Lo = new(big.Int).And(amount, new(big.Int).SetUint64(^uint64(0))).Uint64()
	deposit.Hi = new(big.Int).Rsh(amount, 64).Uint64()
	act := action{Enum: 2, FunctionCall: functionCallAction{MethodName: in.MethodName, Args: argsBytes(in.Args), Gas: gas.Uint64(), Deposit: deposit}}

	for attempt := 0; ; attempt++ {
		out, hash, err := n.send(ctx, act)
		var re *rpcError
		if errors.As(err, &re) && strings.Contains(string(re.Data), "InvalidNonce") && attempt < 2 {
			continue
		}
		if err != nil {
			err = platformError(err, map[string]string{"PARSE_ERROR": ""})
			var pe *plugin.PlatformError
			if hash != "" && errors.As(err, &pe) {
				// The driver needs the hash to look the transaction up,
				// above all when it may still execute.
				pe.Message = fmt.Sprintf("transaction %s: %s", hash, pe.Message)
				if pe.Timeout {
					pe.Message += " (it may still execute: look it up before sending it again)"
				}
			}
			return nil, fmt.Errorf("calling %s.%s: %w", n.contractID, in.MethodName, err)
		}
		return out, checkOutcome(out, hash)
	}
}

// send reads the access key's nonce and a recent block hash, then signs and
// broadcasts one transaction with act. It returns the outcome and the
// transaction's hash (base58, as explorers show it).
func (n *Near) send(ctx context.Context, act action) (json.RawMessage, string, error) {
	pub := n.key.Public().(ed25519.PublicKey)
	res, err := n.rpc.call(ctx, "query", map[string]any{
		"request_type": "view_access_key", "finality": "final", "account_id": n.accountID, "public_key": PublicKeyString(pub),
	})
	if err != nil {
		var re *rpcError
		if errors.As(err, &re) && (re.Cause.Name == "UNKNOWN_ACCESS_KEY" || re.Cause.Name == "UNKNOWN_ACCOUNT") {
			return nil, "", &plugin.PlatformError{Platform: platform, Message: fmt.Sprintf(
				"%s (secret_key must be an access key of account_id %s)", re.Error(), n.accountID), Err: err}
		}
		return nil, "", fmt.Errorf("reading the access key: %w", err)
	}
	var ak struct {
		Nonce     uint64 `json:"nonce"`
		BlockHash string `json:"block_hash"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal(res, &ak); err != nil || ak.Error != "" {
		return nil, "", &plugin.PlatformError{Platform: platform, Message: fmt.Sprintf("reading the access key of %s: %s%v", n.accountID, ak.Error, err)}
	}
	blockHash, err := base58.Decode(ak.BlockHash)
	if err != nil || len(blockHash) != 32 {
		return nil, "", &plugin.PlatformError{Platform: platform, Message: "the access key answer has no valid block_hash"}
	}
	tx := transaction{SignerID: n.accountID, PublicKey: publicKey{KeyType: 0}, Nonce: ak.Nonce + 1, ReceiverID: n.contractID, Actions: []action{act}}
	copy(tx.PublicKey.Data[:], pub)
	copy(tx.BlockHash[:], blockHash)
	txBytes, err := bin.MarshalBorsh(&tx)
	if err != nil {
		return nil, "", fmt.Errorf("serialising the transaction: %w", err)
	}
	digest := sha256.Sum256(txBytes)
	signed := signedTransaction{Transaction: tx, Signature: signature{KeyType: 0}}
	copy(signed.Signature.Data[:], ed25519.Sign(n.key, digest[:]))
	signedBytes, err := bin.MarshalBorsh(&signed)
	if err != nil {
		return nil, "", fmt.Errorf("serialising the signed transaction: %w", err)
	}
	hash := base58.Encode(digest[:])
	out, err := n.rpc.call(ctx, "broadcast_tx_commit", []string{base64.StdEncoding.EncodeToString(signedBytes)})
	return out, hash, err
}

// checkOutcome refuses an outcome whose status is a Failure: the contract
// (or the runtime) refused the call, which the caller must change.
func checkOutcome(out json.RawMessage, hash string) error {
	var o struct {
		Status map[string]json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(out, &o); err != nil || o.Status == nil {
		return &plugin.PlatformError{Platform: platform, Message: "the node's answer has no execution status"}
	}
	if failure, ok := o.Status["Failure"]; ok {
		field := ""
		if strings.Contains(string(failure), "MethodNotFound") {
			field = "/method_name"
		}
		return &plugin.PlatformError{Platform: platform, Rejected: true, Field: field,
			Message: fmt.Sprintf("transaction %s failed: %s", hash, strings.TrimSpace(string(failure)))}
	}
	return nil
}
