// Package fault_test kills the real binary with SIGKILL in the middle of
// deliveries and timers, again and again, and checks that nothing the
// gateway acknowledged is lost and nothing completes twice.
package fault_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metagov-fault")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "metagov")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/metagov")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("building metagov: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// driver receives callbacks and events and remembers them by webhook-id.
type driver struct {
	mu        sync.Mutex
	byID      map[string][][]byte // webhook-id → bodies received
	callbacks map[float64][]map[string]any
	events    map[string]bool // event_type values seen
}

func newDriver(t *testing.T) (*driver, string) {
	d := &driver{byID: map[string][][]byte{}, callbacks: map[float64][]map[string]any{}, events: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // widen the window for a kill
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		d.mu.Lock()
		id := r.Header.Get("webhook-id")
		d.byID[id] = append(d.byID[id], body)
		if r.URL.Path == "/cb" {
			d.callbacks[v["id"].(float64)] = append(d.callbacks[v["id"].(float64)], v)
		} else if et, ok := v["event_type"].(string); ok {
			d.events[et] = true
		}
		d.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return d, srv.URL
}

// gateway is one run of the binary.
type gateway struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

func start(t *testing.T, db apptest.Database, addr, receiver string) *gateway {
	t.Helper()
	g := launch(t, db, addr, receiver)
	waitReady(t, g)
	return g
}

// launch starts the binary without waiting for it to serve.
func launch(t *testing.T, db apptest.Database, addr, receiver string) *gateway {
	t.Helper()
	g := &gateway{addr: addr, logs: &bytes.Buffer{}}
	g.cmd = exec.Command(binary, "serve", "--addr", addr, "--database", db.DSN, "--log-level", "warn",
		"--job-rescue-after", "3s", "--delivery-timeout", "2s")
	g.cmd.Env = append(os.Environ(), "DRIVER_EVENT_RECEIVER_URL="+receiver+"/events",
		"METAGOV_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "METAGOV_SECRET_KEY="+db.SecretKey)
	g.cmd.Dir = t.TempDir()
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	require.NoError(t, g.cmd.Start())
	t.Cleanup(func() { _ = g.cmd.Process.Kill(); _ = g.cmd.Wait() })
	return g
}

// waitReady waits until the gateway says it is ready on /readyz (/healthz
// answers as soon as the process listens, before migrations).
func waitReady(t *testing.T, g *gateway) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + g.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gateway did not start: %s", g.logs)
}

func (g *gateway) kill() {
	_ = g.cmd.Process.Kill()
	_ = g.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func post(addr, path string, body string, headers ...string) (*http.Response, error) {
	return send("POST", addr, path, body, headers...)
}

func send(method, addr, path string, body string, headers ...string) (*http.Response, error) {
	req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestCrashSafety(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		drv, receiver := newDriver(t)
		addr := freeAddr(t)
		g := start(t, db, addr, receiver)
		resp, err := send("PUT", addr, "/api/internal/community/c", `{"plugins": [
			{"name": "randomness", "config": {"default_low": 0, "default_high": 9}},
			{"name": "webhook", "config": {"secret": "s3cret", "webhook_slug": "faultslug1"}}]}`)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode)

		// Several clients at once, so that the kill lands while SQLite
		// commits a group of their transactions together: none of a group
		// may be answered before it is durable.
		var mu sync.Mutex
		var acked []float64 // process ids the gateway answered 202 for
		var ackedEvents []string
		for round := 0; round < 4; round++ {
			stop := time.Now().Add(time.Duration(300+rand.IntN(900)) * time.Millisecond)
			var wg sync.WaitGroup
			for client := range 8 {
				wg.Go(func() {
					for i := 0; time.Now().Before(stop); i++ {
						req, _ := http.NewRequest("POST", "http://"+addr+"/api/internal/process/randomness.delayed-stochastic-vote",
							bytes.NewBufferString(fmt.Sprintf(`{"options":["a","b","c"],"delay":0,"callback_url":%q}`, receiver+"/cb")))
						req.Header.Set("X-Metagov-Community", "c")
						if resp, err := http.DefaultClient.Do(req); err == nil {
							var loc struct {
								ID float64 `json:"id"`
							}
							if resp.StatusCode == http.StatusAccepted && json.NewDecoder(resp.Body).Decode(&loc) == nil {
								mu.Lock()
								acked = append(acked, loc.ID)
								mu.Unlock()
							}
							resp.Body.Close()
						}
						eventType := fmt.Sprintf("r%d-%d-%d", round, client, i)
						body := fmt.Sprintf(`{"type":%q}`, eventType)
						mac := hmac.New(sha256.New, []byte("s3cret"))
						mac.Write([]byte(body))
						if resp, err := post(addr, "/api/hooks/c/webhook/faultslug1", body,
							"X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil))); err == nil && resp.StatusCode == http.StatusOK {
							mu.Lock()
							ackedEvents = append(ackedEvents, eventType)
							mu.Unlock()
						}
					}
				})
			}
			// Kill while the clients are still sending.
			time.Sleep(time.Until(stop) - 50*time.Millisecond)
			g.kill()
			wg.Wait()
			g = start(t, db, addr, receiver)
		}
		require.NotEmpty(t, acked)
		t.Logf("%d processes and %d events acknowledged across 4 kills", len(acked), len(ackedEvents))

		missing := func() (processes []float64, events []string) {
			drv.mu.Lock()
			defer drv.mu.Unlock()
			for _, id := range acked {
				if len(drv.callbacks[id]) == 0 {
					processes = append(processes, id)
				}
			}
			for _, e := range ackedEvents {
				if !drv.events[e] {
					events = append(events, e)
				}
			}
			return processes, events
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			p, e := missing()
			if len(p) == 0 && len(e) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 90 s, %d acknowledged processes never called back (%v…) and %d events never arrived (%v…)\n%s",
					len(p), p[:min(len(p), 5)], len(e), e[:min(len(e), 5)], g.logs)
			}
			time.Sleep(200 * time.Millisecond)
		}

		drv.mu.Lock()
		defer drv.mu.Unlock()
		for id, cbs := range drv.callbacks {
			for _, cb := range cbs {
				require.Equal(t, "completed", cb["status"])
				require.Equal(t, cbs[0]["outcome"], cb["outcome"], "process %v completed twice with different winners", id)
				require.Equal(t, cbs[0]["sequence"], cb["sequence"], "process %v completed twice", id)
			}
		}
		for id, bodies := range drv.byID {
			for _, b := range bodies {
				require.Equal(t, bodies[0], b, "duplicates of %s carry the same body", id)
			}
		}
	})
}
