// Package near calls smart contracts on the NEAR blockchain through a
// node's JSON-RPC API (https://docs.near.org/api/rpc/introduction).
//
// Its two actions keep the original's names and parameters:
//
//   - view {method_name, args}: a read-only call, RPC "query" with
//     request_type "call_function" (args as base64 JSON), on the config's
//     contract_id. Its result is the node's answer with "result" decoded
//     from bytes to JSON, as near-api-py returned it.
//   - call {method_name, args, gas, amount}: a function-call transaction
//     from account_id to contract_id, serialised in Borsh
//     (github.com/gagliardetto/binary), signed with the account's ed25519
//     key and sent with "broadcast_tx_commit"; its result is the node's
//     final execution outcome.
//
// The secret key is a write-only config property, kept only encrypted in
// the config: unlike the original, which pickled a signer into the plugin
// state too, nothing is copied into state. node_url, which receives the
// signed transactions, is a destination of the key.
package near

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/mr-tron/base58"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultNodeURL is NEAR's public testnet RPC, the original's default.
const DefaultNodeURL = "https://rpc.testnet.near.org"

func init() {
	plugin.Register(plugin.Info{
		Name:        "near",
		Description: "Call smart contracts on the NEAR blockchain",
		AuthType:    plugin.AuthAPIKey,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		New:         func() plugin.Instance { return &Near{} },
		Actions: []plugin.Action{
			{Name: "view", Description: "Makes a contract call which can only view state.", Input: viewInputSchema, Output: viewOutputSchema, Run: plugin.Bind((*Near).view)},
			{Name: "call", Description: "Makes a contract call which can modify or view state. The master account will be charged a transaction fee.", Input: callInputSchema, Output: callOutputSchema, Run: plugin.Bind((*Near).call)},
		},
	})
}

// accountIDPattern is NEAR's account id rule: 2 to 64 characters, parts of
// lowercase letters and digits joined by '-', '_' or '.'.
const accountIDPattern = `^(([a-z\\d]+[-_])*[a-z\\d]+\\.)*([a-z\\d]+[-_])*[a-z\\d]+$`

var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"contract_id": {"type": "string", "minLength": 2, "maxLength": 64, "pattern": "` + accountIDPattern + `", "description": "The contract's account id, such as guest-book.testnet."},
		"account_id": {"type": "string", "minLength": 2, "maxLength": 64, "pattern": "` + accountIDPattern + `", "description": "The account that signs and pays for calls."},
		"secret_key": {"type": "string", "minLength": 10, "maxLength": 200, "writeOnly": true, "description": "A full-access or function-call key of account_id: ed25519:<base58>, as near-cli stores it."},
		"node_url": {"type": "string", "default": "https://rpc.testnet.near.org", "pattern": "^https?://[^\\s]+$", "maxLength": 2048, "x-metagov-destination": true,
			"description": "The NEAR node's JSON-RPC URL (https://rpc.mainnet.near.org for mainnet)."}
	},
	"required": ["contract_id", "account_id", "secret_key"]
}`)

// Config is the instance config.
type Config struct {
	ContractID string `json:"contract_id"`
	AccountID  string `json:"account_id"`
	SecretKey  string `json:"secret_key"`
	NodeURL    string `json:"node_url"`
}

// Near is one community's signer on one contract. The key lives in memory
// only, built from the config at each provisioning.
type Near struct {
	contractID, accountID string
	key                   ed25519.PrivateKey
	rpc                   *rpcClient
}

// Provision parses the key and builds the RPC client.
func (n *Near) Provision(_ context.Context, env plugin.Env) error {
	var cfg Config
	if err := env.DecodeConfig(&cfg); err != nil {
		return fmt.Errorf("provisioning near: %w", err)
	}
	if cfg.NodeURL == "" {
		cfg.NodeURL = DefaultNodeURL
	}
	u, err := url.Parse(cfg.NodeURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &plugin.InputError{Field: "/node_url", Message: "node_url must be an http or https URL"}
	}
	key, err := ParseSecretKey(cfg.SecretKey)
	if err != nil {
		return &plugin.InputError{Field: "/secret_key", Message: err.Error()}
	}
	n.contractID, n.accountID, n.key = cfg.ContractID, cfg.AccountID, key
	n.rpc = &rpcClient{url: cfg.NodeURL, hc: env.HTTPClient}
	return nil
}

// ParseSecretKey reads a NEAR secret key, "ed25519:" and the base58 of the
// 64-byte private key (seed and public key, as near-cli writes it) or of
// the 32-byte seed.
func ParseSecretKey(s string) (ed25519.PrivateKey, error) {
	enc, ok := strings.CutPrefix(s, "ed25519:")
	if !ok {
		return nil, fmt.Errorf("secret_key must be ed25519:<base58>")
	}
	raw, err := base58.Decode(enc)
	if err != nil {
		return nil, fmt.Errorf("secret_key is not base58")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(raw[ed25519.SeedSize:])) {
			return nil, fmt.Errorf("secret_key's public half does not match its seed")
		}
		return key, nil
	default:
		return nil, fmt.Errorf("secret_key must hold 32 or 64 bytes, not %d", len(raw))
	}
}

// PublicKeyString is a public key as NEAR writes it: ed25519:<base58>.
func PublicKeyString(pub ed25519.PublicKey) string {
	return "ed25519:" + base58.Encode(pub)
}

var _ plugin.Provisioner = (*Near)(nil)
