package near_test

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/near"
	"github.com/metagov/metagov-go/plugins/near/nearfake"
)

const (
	community = "near-community"
	contract  = "guest-book.testnet"
	account   = "metagov.testnet"
)

var header = []string{"X-Metagov-Community", community}

// testKey is a fixed key, written as near-cli writes it (64 bytes).
var testKey = ed25519.NewKeyFromSeed([]byte("metagov-near-plugin-test-seed-32"))

func secretKey(k ed25519.PrivateKey) string { return "ed25519:" + base58.Encode(k) }

type testBundle struct {
	s    *apptest.Server
	fake *nearfake.Server
}

func config(fake *nearfake.Server) map[string]any {
	return map[string]any{"contract_id": contract, "account_id": account, "secret_key": secretKey(testKey), "node_url": fake.URL}
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	fake := nearfake.New(t, contract)
	fake.AddAccount(account, testKey.Public().(ed25519.PublicKey), 41)
	s := apptest.Start(t, db, app.Config{PlatformTimeout: 500 * time.Millisecond})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "near", "config": config(fake)}}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func (b *testBundle) action(name string, params any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/near."+name, map[string]any{"parameters": params}, header...)
}

func TestView(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		r := b.action("view", map[string]any{"method_name": "get_greeting"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)
		require.Equal(t, "Hello", out["result"], "the bytes decoded as JSON")
		require.Equal(t, []any{}, out["logs"])
		require.NotEmpty(t, out["block_hash"])

		r = b.action("view", map[string]any{"method_name": "echo", "args": map[string]any{"a": []any{1.0, "x"}, "b": nil}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, map[string]any{"a": []any{1.0, "x"}, "b": nil}, r.JSON(t)["result"], "args reach the contract as JSON")

		b.action("view", map[string]any{"method_name": "nope"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/method_name",
				"CONTRACT_EXECUTION_ERROR: wasm execution failed with error: MethodResolveError(MethodNotFound)")
		b.action("view", map[string]any{}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/method_name", "method_name")
		b.action("view", map[string]any{"method_name": "x", "gas": 1}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/gas", "gas")
		require.Empty(t, b.fake.Transactions(), "a view sends no transaction")
	})
}

func TestCall(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		r := b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "Hola"}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)
		require.Equal(t, map[string]any{"SuccessValue": ""}, out["status"])
		require.Equal(t, "Hola", b.fake.Greeting())
		txs := b.fake.Transactions()
		require.Len(t, txs, 1)
		require.Equal(t, account, txs[0].SignerID)
		require.Equal(t, contract, txs[0].ReceiverID)
		require.Equal(t, uint64(42), txs[0].Nonce, "the access key's nonce plus one")
		require.Equal(t, "set_greeting", txs[0].Calls[0].MethodName)
		require.JSONEq(t, `{"message": "Hola"}`, string(txs[0].Calls[0].Args))
		require.Equal(t, uint64(near.DefaultGas), txs[0].Calls[0].Gas)
		require.Equal(t, "0", txs[0].Calls[0].Deposit.String())
		require.Equal(t, txs[0].Calls[0].MethodName, out["transaction"].(map[string]any)["actions"].([]any)[0].(map[string]any)["FunctionCall"].(map[string]any)["method_name"])

		// Gas and a deposit beyond 2^64 (a decimal string), as the node reads them.
		r = b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "Hi"},
			"gas": 30000000000000, "amount": "1000000000000000000000000"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		txs = b.fake.Transactions()
		require.Len(t, txs, 2)
		require.Equal(t, uint64(43), txs[1].Nonce)
		require.Equal(t, uint64(30000000000000), txs[1].Calls[0].Gas)
		require.Equal(t, "1000000000000000000000000", txs[1].Calls[0].Deposit.String())

		// Another client took the next nonce: the call reads it again.
		b.fake.BumpNonce(1)
		r = b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "again"}, "amount": 5})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "again", b.fake.Greeting())
		require.Equal(t, "5", b.fake.Transactions()[2].Calls[0].Deposit.String())
	})
}

func TestCallRefusals(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		b.action("call", map[string]any{"method_name": "fail"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "",
				"Smart contract panicked: asked to fail")
		b.action("call", map[string]any{"method_name": "missing"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/method_name", "MethodNotFound")
		require.Equal(t, "Hello", b.fake.Greeting())
		for _, tt := range []struct {
			params map[string]any
			field  string
		}{
			{map[string]any{"method_name": "set_greeting", "gas": 400000000000000}, "/gas"},
			{map[string]any{"method_name": "set_greeting", "gas": 0}, "/gas"},
			{map[string]any{"method_name": "set_greeting", "amount": -1}, "/amount"},
			{map[string]any{"method_name": "set_greeting", "amount": "1e24"}, "/amount"},
			{map[string]any{"method_name": "set_greeting", "amount": "340282366920938463463374607431768211456"}, "/amount"},
			{map[string]any{"method_name": "set_greeting", "args": []any{1}}, "/args"},
		} {
			r := b.action("call", tt.params)
			require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", tt.params, r.Body)
			require.Equal(t, tt.field, r.JSON(t)["field"], "%v: %s", tt.params, r.Body)
		}
		require.Len(t, b.fake.Transactions(), 2, "only the two failing calls reached the chain")
	})
}

// TestKeyProblems: a key that is not the account's, an unknown account,
// and a key of the wrong shape.
func TestKeyProblems(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		other := ed25519.NewKeyFromSeed([]byte("another-seed-another-seed-32byte"))
		cfg := config(b.fake)
		cfg["secret_key"] = "ed25519:" + base58.Encode(other.Seed()) // a 32-byte seed is taken too
		r := b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "x"}}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "UNKNOWN_ACCESS_KEY")
		b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "x"}}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"secret_key must be an access key of account_id metagov.testnet")

		for _, bad := range []string{"ed25519:notbase58!", "secp256k1:abc", "ed25519:" + base58.Encode([]byte("short"))} {
			cfg["secret_key"] = bad
			r := b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, "/secret_key", r.JSON(t)["field"])
		}
		mismatched := append(append([]byte{}, testKey.Seed()...), other.Public().(ed25519.PublicKey)...)
		cfg["secret_key"] = "ed25519:" + base58.Encode(mismatched)
		r = b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "public half does not match")
		require.Empty(t, b.fake.Transactions())
	})
}

// TestSecretNeverShown: the key is write-only, kept only in the config and
// bound to node_url.
func TestSecretNeverShown(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		require.Equal(t, http.StatusOK, b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "x"}}).Status)
		got := b.s.Do("GET", "/api/internal/community/"+community, nil)
		require.NotContains(t, string(got.Body), base58.Encode(testKey))
		require.Contains(t, string(got.Body), `"secret_key":"********"`)
		require.Equal(t, "https://rpc.testnet.near.org", func() any {
			cfg := config(b.fake)
			delete(cfg, "node_url")
			r := b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return r.JSON(t)["config"].(map[string]any)["node_url"]
		}(), "the original's default node")
		cfg := config(b.fake)
		cfg["secret_key"], cfg["node_url"] = "********", "https://evil.example"
		r := b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "secret_required", r.JSON(t)["code"])
		// No plugin state holds the key: the state table is empty for
		// this plugin.
		var n int
		require.NoError(t, b.s.App.Store().DB().QueryRow(`SELECT COUNT(*) FROM plugin_state`).Scan(&n))
		require.Zero(t, n)
	})
}

func TestNodeFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		b.fake.Fail(http.StatusInternalServerError, `{"jsonrpc":"2.0","id":"metagov","error":{"name":"INTERNAL_ERROR","cause":{"name":"INTERNAL_ERROR","info":{"error_message":"node is syncing"}},"code":-32000,"message":"Server error","data":"node is syncing"}}`)
		b.action("view", map[string]any{"method_name": "get_greeting"}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "INTERNAL_ERROR: node is syncing")
		b.fake.Fail(http.StatusRequestTimeout, `{"jsonrpc":"2.0","id":"metagov","error":{"name":"HANDLER_ERROR","cause":{"name":"TIMEOUT_ERROR","info":{}},"code":-32000,"message":"Server error","data":"Timeout"}}`)
		b.action("view", map[string]any{"method_name": "get_greeting"}).
			RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "TIMEOUT_ERROR")
		b.fake.Fail(http.StatusBadGateway, "<html>bad gateway</html>")
		b.action("view", map[string]any{"method_name": "get_greeting"}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "near answered 502")
		b.fake.Fail(0, "")
		b.fake.Stall(true)
		b.action("call", map[string]any{"method_name": "set_greeting"}).
			RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "near did not answer in time")
		b.fake.Stall(false)
		r := b.action("view", map[string]any{"method_name": "get_greeting"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.True(t, strings.Contains(string(r.Body), "Hello"))
	})
}

// TestBroadcastTimeout: a transaction the node could not finalize in time
// is a 504 naming its hash, which the driver needs to look it up.
func TestBroadcastTimeout(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		b.fake.TimeoutBroadcasts(true)
		r := b.action("call", map[string]any{"method_name": "set_greeting", "args": map[string]any{"message": "late"}})
		r.RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "TIMEOUT_ERROR")
		txs := b.fake.Transactions()
		require.Len(t, txs, 1)
		require.Contains(t, r.JSON(t)["detail"], "transaction "+txs[0].Hash+": ")
		require.Contains(t, r.JSON(t)["detail"], "look it up before sending it again")
	})
}

// TestEgressPolicy: node_url obeys the gateway's egress policy.
func TestEgressPolicy(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		cfg := config(b.fake)
		cfg["node_url"] = "http://169.254.169.254/rpc"
		r := b.s.Do("POST", "/api/internal/plugin/near", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.action("view", map[string]any{"method_name": "get_greeting"}).
			RequireErrorField(t, http.StatusBadGateway, "egress_refused", "", "169.254.0.0/16")
		b.action("call", map[string]any{"method_name": "set_greeting"}).
			RequireErrorField(t, http.StatusBadGateway, "egress_refused", "", "169.254.0.0/16")
	})
}
