// Package nearfake is a fake NEAR node for tests: its JSON-RPC endpoint,
// built from NEAR's RPC documentation (https://docs.near.org/api/rpc/):
//
//   - query with request_type view_access_key (the key's nonce and a recent
//     block_hash) and call_function (args_base64; result as a byte array,
//     logs, block_height, block_hash);
//   - broadcast_tx_commit with one base64 Borsh SignedTransaction, which it
//     decodes by hand and checks as a node does: the ed25519 signature over
//     the SHA-256 of the transaction, the key being an access key of the
//     signer, a nonce above the key's, a known block hash; then it runs the
//     function calls against a toy contract and answers the final execution
//     outcome (status SuccessValue or Failure, transaction, outcomes).
//   - Errors in nearcore's shape: {"error": {"name", "cause": {"name",
//     "info"}, "code", "message", "data"}}: UNKNOWN_ACCOUNT,
//     UNKNOWN_ACCESS_KEY, CONTRACT_EXECUTION_ERROR, INVALID_TRANSACTION
//     (InvalidSignature, InvalidNonce, Expired).
//
// The toy contract has a view method get_greeting, a view method echo
// returning its args, a change method set_greeting {"message"} and a
// change method fail that panics.
package nearfake

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mr-tron/base58"

	"github.com/metagov/metagov-go/internal/platformfake"
)

// Server is a running fake node.
type Server struct {
	// URL is the node_url to configure.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	contract string
	keys     map[string]map[string]uint64 // account → "ed25519:…" → nonce
	greeting string
	height   uint64
	block    [32]byte
	txs      []Transaction
	// bumpNonce raises the key's nonce before the next transaction is
	// checked, as a concurrent sender would.
	bumpNonce int
	// timeout answers broadcasts, once accepted, with TIMEOUT_ERROR.
	timeout bool
	// Faults gives the server Fail (every request answers a status and a
	// body) and Stall (every request hangs until its client gives up).
	platformfake.Faults
}

// New starts a fake node with a contract account holding the toy contract;
// it stops when the test ends.
func New(t testing.TB, contract string) *Server {
	s := &Server{contract: contract, keys: map[string]map[string]uint64{contract: {}}, greeting: "Hello",
		height: 180000000}
	s.block = sha256.Sum256([]byte("block"))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// AddAccount creates an account with an access key whose nonce is nonce.
func (s *Server) AddAccount(account string, pub ed25519.PublicKey, nonce uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[account] == nil {
		s.keys[account] = map[string]uint64{}
	}
	s.keys[account]["ed25519:"+base58.Encode(pub)] = nonce
}

// Greeting is the toy contract's state.
func (s *Server) Greeting() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.greeting
}

// Transactions returns the transactions the node accepted, in order.
func (s *Server) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Transaction(nil), s.txs...)
}

// BumpNonce makes the next n transactions find their nonce taken, as when
// another client used the key in between.
func (s *Server) BumpNonce(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpNonce = n
}

// TimeoutBroadcasts makes the node accept transactions but answer
// broadcast_tx_commit with TIMEOUT_ERROR (HTTP 408), as when a transaction
// does not finalize within the node's wait.
func (s *Server) TimeoutBroadcasts(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeout = on
}

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

func reply(w http.ResponseWriter, id json.RawMessage, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
}

// fail answers a nearcore error; status is the HTTP status nearcore uses
// for it.
func fail(w http.ResponseWriter, id json.RawMessage, status int, name, cause string, info any, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{
		"name": name, "cause": map[string]any{"name": cause, "info": info}, "code": -32000, "message": "Server error", "data": data}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.Inject(w, r, platformfake.Raw) {
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.JSONRPC != "2.0" {
		fail(w, nil, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "invalid JSON-RPC request"}, "Parse error")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch req.Method {
	case "query":
		s.query(w, req)
	case "broadcast_tx_commit":
		s.broadcast(w, req)
	default:
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "METHOD_NOT_FOUND", map[string]any{"method_name": req.Method}, "Method not found")
	}
}

func (s *Server) blockFields(m map[string]any) map[string]any {
	m["block_height"] = s.height
	m["block_hash"] = base58.Encode(s.block[:])
	return m
}

func (s *Server) query(w http.ResponseWriter, req request) {
	var p struct {
		RequestType string `json:"request_type"`
		Finality    string `json:"finality"`
		AccountID   string `json:"account_id"`
		PublicKey   string `json:"public_key"`
		MethodName  string `json:"method_name"`
		ArgsBase64  string `json:"args_base64"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil || p.Finality == "" {
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "Failed parsing args"}, "Failed parsing args")
		return
	}
	keys, known := s.keys[p.AccountID]
	if !known {
		fail(w, req.ID, http.StatusOK, "HANDLER_ERROR", "UNKNOWN_ACCOUNT", s.blockFields(map[string]any{"requested_account_id": p.AccountID}),
			fmt.Sprintf("account %s does not exist while viewing", p.AccountID))
		return
	}
	switch p.RequestType {
	case "view_access_key":
		nonce, ok := keys[p.PublicKey]
		if !ok {
			fail(w, req.ID, http.StatusOK, "HANDLER_ERROR", "UNKNOWN_ACCESS_KEY", s.blockFields(map[string]any{"public_key": p.PublicKey}),
				fmt.Sprintf("access key %s does not exist while viewing", p.PublicKey))
			return
		}
		reply(w, req.ID, s.blockFields(map[string]any{"nonce": nonce, "permission": "FullAccess"}))
	case "call_function":
		if p.AccountID != s.contract {
			fail(w, req.ID, http.StatusOK, "HANDLER_ERROR", "NO_CONTRACT_CODE", s.blockFields(map[string]any{"contract_account_id": p.AccountID}),
				fmt.Sprintf("Contract code for contract ID #%s has never been observed on the node", p.AccountID))
			return
		}
		args, err := base64.StdEncoding.DecodeString(p.ArgsBase64)
		if err != nil {
			fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "args_base64 is not base64"}, "Failed parsing args")
			return
		}
		var value []byte
		switch p.MethodName {
		case "get_greeting":
			value, _ = json.Marshal(s.greeting)
		case "echo":
			value = args
		default:
			msg := "wasm execution failed with error: MethodResolveError(MethodNotFound)"
			fail(w, req.ID, http.StatusOK, "HANDLER_ERROR", "CONTRACT_EXECUTION_ERROR", s.blockFields(map[string]any{"vm_error": msg}), msg)
			return
		}
		ints := make([]int, len(value))
		for i, b := range value {
			ints[i] = int(b)
		}
		reply(w, req.ID, s.blockFields(map[string]any{"result": ints, "logs": []string{}}))
	default:
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "unknown request_type"}, "Failed parsing args")
	}
}

func invalidTx(w http.ResponseWriter, id json.RawMessage, reason any) {
	data := map[string]any{"TxExecutionError": map[string]any{"InvalidTxError": reason}}
	fail(w, id, http.StatusOK, "HANDLER_ERROR", "INVALID_TRANSACTION", data, data)
}

func (s *Server) broadcast(w http.ResponseWriter, req request) {
	var params []string
	if err := json.Unmarshal(req.Params, &params); err != nil || len(params) != 1 {
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "expected one base64 transaction"}, "Failed parsing args")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(params[0])
	if err != nil {
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": "not base64"}, "Failed parsing args")
		return
	}
	tx, sig, err := decodeSigned(raw)
	if err != nil {
		fail(w, req.ID, http.StatusBadRequest, "REQUEST_VALIDATION_ERROR", "PARSE_ERROR", map[string]any{"error_message": err.Error()}, "Failed to decode transaction: "+err.Error())
		return
	}
	digest := sha256.Sum256(tx.Raw)
	hash := base58.Encode(digest[:])
	if !ed25519.Verify(ed25519.PublicKey(tx.PublicKey), digest[:], sig) {
		invalidTx(w, req.ID, "InvalidSignature")
		return
	}
	pubStr := "ed25519:" + base58.Encode(tx.PublicKey)
	nonce, ok := s.keys[tx.SignerID][pubStr]
	if !ok {
		invalidTx(w, req.ID, map[string]any{"InvalidAccessKeyError": map[string]any{"AccessKeyNotFound": map[string]any{"account_id": tx.SignerID, "public_key": pubStr}}})
		return
	}
	if s.bumpNonce > 0 {
		s.bumpNonce--
		nonce += 10
		s.keys[tx.SignerID][pubStr] = nonce
	}
	if tx.Nonce <= nonce {
		invalidTx(w, req.ID, map[string]any{"InvalidNonce": map[string]any{"tx_nonce": tx.Nonce, "ak_nonce": nonce}})
		return
	}
	if string(tx.BlockHash) != string(s.block[:]) {
		invalidTx(w, req.ID, "Expired")
		return
	}
	s.keys[tx.SignerID][pubStr] = tx.Nonce
	tx.Hash = hash
	s.txs = append(s.txs, *tx)
	s.height++
	if s.timeout {
		fail(w, req.ID, http.StatusRequestTimeout, "HANDLER_ERROR", "TIMEOUT_ERROR", map[string]any{}, "Timeout")
		return
	}

	status := map[string]any{"SuccessValue": ""}
	var logs []string
	for _, c := range tx.Calls {
		if tx.ReceiverID != s.contract {
			status = failure(map[string]any{"CompilationError": map[string]any{"CodeDoesNotExist": map[string]any{"account_id": tx.ReceiverID}}})
			break
		}
		switch c.MethodName {
		case "set_greeting":
			var a struct {
				Message *string `json:"message"`
			}
			if json.Unmarshal(c.Args, &a) != nil || a.Message == nil {
				status = failure(map[string]any{"ExecutionError": "Smart contract panicked: Failed to deserialize input from JSON."})
				break
			}
			s.greeting = *a.Message
			logs = append(logs, "Saving greeting "+*a.Message)
		case "fail":
			status = failure(map[string]any{"ExecutionError": "Smart contract panicked: asked to fail"})
		default:
			status = failure(map[string]any{"MethodResolveError": "MethodNotFound"})
		}
	}
	if logs == nil {
		logs = []string{}
	}
	actions := make([]any, len(tx.Calls))
	for i, c := range tx.Calls {
		actions[i] = map[string]any{"FunctionCall": map[string]any{"method_name": c.MethodName, "args": base64.StdEncoding.EncodeToString(c.Args),
			"gas": c.Gas, "deposit": c.Deposit.String()}}
	}
	reply(w, req.ID, map[string]any{
		"status": status,
		"transaction": map[string]any{"signer_id": tx.SignerID, "public_key": pubStr, "nonce": tx.Nonce, "receiver_id": tx.ReceiverID,
			"actions": actions, "signature": "ed25519:" + base58.Encode(sig), "hash": hash},
		"transaction_outcome": map[string]any{"id": hash, "block_hash": base58.Encode(s.block[:]),
			"outcome": map[string]any{"logs": []string{}, "receipt_ids": []string{}, "gas_burnt": 2428000000000, "status": map[string]any{"SuccessReceiptId": hash}}},
		"receipts_outcome": []any{map[string]any{"id": hash, "block_hash": base58.Encode(s.block[:]),
			"outcome": map[string]any{"logs": logs, "receipt_ids": []string{}, "gas_burnt": 2428000000000, "status": status}}},
	})
}

func failure(err any) map[string]any {
	return map[string]any{"Failure": map[string]any{"ActionError": map[string]any{"index": 0, "kind": map[string]any{"FunctionCallError": err}}}}
}
