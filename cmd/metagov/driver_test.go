package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
)

// TestDriverCommands drives a real gateway, on both databases, with the
// driver-side commands: community put/get/delete, action, process
// start/get/close/watch, events tail (and --follow), deliveries
// list/redeliver, identity create/link/list/filter/merge/get/account/unlink, with the settings as flags before or after the
// subcommand or in the environment, JSON or table output, errors, and an
// API key.
func TestDriverCommands(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		ctx := context.Background()
		rcv := apptest.NewReceiver(t)
		s := apptest.Start(t, db, app.Config{EventReceiverURL: rcv.URL + "/events"})
		dir := t.TempDir()
		env := cleanEnv("METAGOV_SERVER=" + s.URL)
		cli := func(args ...string) (string, string) {
			t.Helper()
			stdout, stderr, err := run(t, dir, env, args...)
			require.NoError(t, err, "metagov %v: %s", args, stderr)
			return stdout, stderr
		}
		fails := func(args ...string) string {
			t.Helper()
			_, stderr, err := run(t, dir, env, args...)
			require.Error(t, err, "metagov %v", args)
			return stderr
		}

		spec := `{"readable_name": "Town", "plugins": [
			{"name": "randomness", "config": {"default_low": 1, "default_high": 100}},
			{"name": "webhook", "config": {"secret": "shared-secret", "webhook_slug": "f5c3ff8f9a"}}]}`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "town.json"), []byte(spec), 0o600))
		out, _ := cli("community", "put", "town", "-f", "town.json")
		var community map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &community))
		require.Equal(t, "town", community["slug"])
		require.Len(t, community["plugins"], 2)
		out, _ = cli("community", "--output", "table", "get", "town")
		require.Regexp(t, `(?m)^SLUG\s+town$`, out)
		require.Regexp(t, `(?m)^READABLE_NAME\s+Town$`, out)

		// An action: the community before or after the subcommand, or from
		// the environment; parameters as key=value, JSON where it parses.
		out, _ = cli("action", "randomness.random-int", "low=5", "high=6", "--community", "town")
		require.JSONEq(t, `{"value": 5}`, out)
		out, _ = cli("action", "--community=town", "randomness.random-int", "low=7", "high=8")
		require.JSONEq(t, `{"value": 7}`, out)
		stderr := fails("action", "randomness.random-int", "low=one", "--community", "town")
		require.Contains(t, stderr, "400 invalid_input")
		require.Contains(t, stderr, "(at /low)")
		require.Contains(t, fails("action", "randomness.random-int"), "--community or METAGOV_COMMUNITY")
		require.Contains(t, fails("action", "randomness.random-int", "low", "--community", "town"), `argument "low": want key=value`)

		env = append(env, "METAGOV_COMMUNITY=town")
		const vote = "randomness.delayed-stochastic-vote"
		out, _ = cli("process", "start", vote, `options=["one","two"]`, "delay=60", "--callback-url", rcv.URL+"/callback")
		var started struct {
			ID     int64
			Status string
		}
		require.NoError(t, json.Unmarshal([]byte(out), &started))
		require.Positive(t, started.ID)
		require.Equal(t, "pending", started.Status)
		id := itoa(started.ID)
		out, _ = cli("process", "--output", "table", "get", vote, id)
		require.Regexp(t, `(?m)^STATUS\s+pending$`, out)
		out, _ = cli("process", "close", vote, id)
		require.Contains(t, out, `"status": "completed"`)
		out, _ = cli("process", "watch", vote, id, "--interval", "10ms")
		require.Contains(t, out, `"status": "completed"`, "watch prints the record and returns once completed")
		require.Contains(t, fails("process", "close", vote, id), "409 process_completed")
		require.Contains(t, fails("process", "get", vote, "x"), `id "x" is not a positive number`)

		// Events: a webhook's, pulled; --follow prints the next one as it comes.
		hook := func(body string) {
			mac := hmac.New(sha256.New, []byte("shared-secret"))
			mac.Write([]byte(body))
			req, err := http.NewRequest(http.MethodPost, s.URL+"/api/hooks/town/webhook/f5c3ff8f9a", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		hook(`{"type": "push"}`)
		out, _ = cli("events", "tail")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 1)
		var ev struct {
			ID        int64
			EventType string `json:"event_type"`
			Initiator map[string]any
		}
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &ev))
		require.Equal(t, "push", ev.EventType)
		require.Equal(t, map[string]any{"user_id": nil, "provider": "webhook"}, ev.Initiator)
		out, _ = cli("events", "tail", "--after", itoa(ev.ID))
		require.Empty(t, out)

		follow := exec.Command(binary, "events", "tail", "-f", "--after", itoa(ev.ID), "--interval", "20ms")
		follow.Dir, follow.Env = dir, env
		pipe, err := follow.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, follow.Start())
		t.Cleanup(func() { _ = follow.Process.Kill(); _ = follow.Wait() })
		hook(`{"type": "release"}`)
		line := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(pipe)
			if sc.Scan() {
				line <- sc.Text()
			}
			close(line)
		}()
		select {
		case l := <-line:
			require.Contains(t, l, `"event_type":"release"`)
		case <-time.After(15 * time.Second):
			t.Fatal("events tail --follow printed nothing")
		}

		// Deliveries: the callback and the events, listed; one sent again.
		rcv.WaitFor(t, 3, 10*time.Second)
		out, _ = cli("deliveries", "list", "--kind", "callback")
		var listed struct {
			Deliveries []struct {
				ID        int64
				MessageID string `json:"message_id"`
				Kind      string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(out), &listed))
		require.Len(t, listed.Deliveries, 1)
		require.Equal(t, "callback", listed.Deliveries[0].Kind)
		out, _ = cli("deliveries", "--output=table", "list")
		require.Regexp(t, `(?m)^ATTEMPTS\s+COMMUNITY\s+ID\s+KIND\s+LAST_ERROR\s+STATUS\s+URL$`, out)
		require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 4, out)
		out, _ = cli("deliveries", "redeliver", itoa(listed.Deliveries[0].ID))
		require.Contains(t, out, listed.Deliveries[0].MessageID)
		require.Contains(t, fails("deliveries", "redeliver", "999999"), "404")

		// Identity: create, link, list, filter, merge, unlink, and errors.
		out, _ = cli("identity", "create", "--count", "2")
		var ids []int64
		require.NoError(t, json.Unmarshal([]byte(out), &ids))
		require.Len(t, ids, 2)
		alice, bob := itoa(ids[0]), itoa(ids[1])
		out, _ = cli("identity", "link", alice, "randomness", "U-alice", "--link-quality", "confirmed (strong)", "--custom-data", `{"name": "Alice"}`)
		var account struct {
			ExternalID  int64          `json:"external_id"`
			LinkQuality string         `json:"link_quality"`
			CustomData  map[string]any `json:"custom_data"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &account))
		require.Equal(t, ids[0], account.ExternalID)
		require.Equal(t, "confirmed (strong)", account.LinkQuality)
		require.Equal(t, map[string]any{"name": "Alice"}, account.CustomData)
		cli("identity", "link", bob, "webhook", "U-bob")
		out, _ = cli("identity", "--output", "table", "list", "--platform-type", "randomness")
		require.Regexp(t, `(?m)^LINKED_ACCOUNTS\s+PRIMARY_ID\s+SOURCE_ID$`, out)
		require.Regexp(t, `(?m)^\[.*"U-alice".*\]\s+`+alice+`\s+`+alice+`$`, out)
		require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2, out)
		out, _ = cli("identity", "filter", alice, bob, "--platform-identifier", "U-bob")
		var filtered []struct {
			SourceID int64 `json:"source_ID"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &filtered))
		require.Len(t, filtered, 1)
		require.Equal(t, ids[1], filtered[0].SourceID)
		out, _ = cli("identity", "merge", alice, bob)
		require.Contains(t, out, `"U-bob"`)
		out, _ = cli("identity", "get", bob)
		require.Contains(t, out, `"primary_ID": `+alice)
		out, _ = cli("identity", "account", alice, "randomness")
		require.Contains(t, out, `"platform_identifier": "U-alice"`)
		out, _ = cli("identity", "unlink", "webhook", "U-bob")
		require.JSONEq(t, "true", out)
		out, _ = cli("identity", "account", bob, "webhook")
		require.JSONEq(t, "null", out, "no account")
		require.Contains(t, fails("identity", "unlink", "webhook", "U-bob"), "404 account_not_found")
		require.Contains(t, fails("identity", "get", "999999999999"), "404 identity_not_found")
		require.Contains(t, fails("identity", "link", alice, "randomness", "U-x", "--custom-data", "{"), `--custom-data "{" is not JSON`)
		require.Contains(t, fails("identity", "list", "--community", ""), "--community or METAGOV_COMMUNITY")

		// With a key, calls need it: from the flag or the environment.
		key, _, err := core.CreateAPIKey(ctx, s.App.Store(), "cli", nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, stderr, err := run(t, dir, env, "community", "get", "town")
			return err != nil && strings.Contains(stderr, "401")
		}, 10*time.Second, 20*time.Millisecond)
		cli("community", "get", "town", "--api-key", key)
		env = append(env, "METAGOV_API_KEY="+key)
		cli("community", "delete", "town")
		require.Contains(t, fails("community", "get", "town"), "404")
		require.Contains(t, fails("community", "get", "town", "--output", "yaml"), `--output "yaml": want json or table`)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
