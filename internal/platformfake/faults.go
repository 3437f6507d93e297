// Package platformfake holds what the platform fakes (plugins/<name>/<name>fake)
// share: failures and stalls a test switches on to see how a plugin copes
// with a platform that errs or never answers.
package platformfake

import (
	"net/http"
	"sync"
)

// Faults makes a fake fail or stall on demand. Embed it in a fake's server,
// so that its Fail and Stall are the fake's, and call Inject first in each
// handler the faults apply to. The zero value is ready; Release must be
// called when the fake stops (a stalled request otherwise waits for its
// client to give up).
type Faults struct {
	mu      sync.Mutex
	status  int
	body    string
	stall   bool
	once    sync.Once // makes release
	closed  sync.Once // closes it
	release chan struct{}
}

// Fail makes every request answer status with body; status 0 stops it.
func (f *Faults) Fail(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

// Stall makes every request hang until the client gives up or the fake
// stops; false answers normally again (requests already hanging keep
// hanging).
func (f *Faults) Stall(stall bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stall = stall
}

// Release ends every stalled request, now and later; the fake calls it when
// it stops, so that its server can close. Calling it again does nothing.
func (f *Faults) Release() {
	ch := f.released()
	f.closed.Do(func() { close(ch) })
}

func (f *Faults) released() chan struct{} {
	f.once.Do(func() { f.release = make(chan struct{}) })
	return f.release
}

// Inject answers r as the faults say, and reports whether it did: a stall
// waits (without answering) until the client gives up or Release, and a
// failure is written by write, in the platform's shape. With no fault set it
// answers nothing and returns false.
func (f *Faults) Inject(w http.ResponseWriter, r *http.Request, write func(w http.ResponseWriter, status int, body string)) bool {
	f.mu.Lock()
	stall, status, body := f.stall, f.status, f.body
	f.mu.Unlock()
	switch {
	case stall:
		select {
		case <-r.Context().Done():
		case <-f.released():
		}
		return true
	case status != 0:
		write(w, status, body)
		return true
	}
	return false
}

// Raw writes a failure as it was given: status, then body unchanged. It
// suits fakes whose tests set the exact body a platform would send.
func Raw(w http.ResponseWriter, status int, body string) {
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
