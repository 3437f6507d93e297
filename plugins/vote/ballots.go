package vote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// A poll's ballots are stored in pages: runs of up to pageMax ballots,
// sorted by voter id, one instance state key each,
// ballots/<process id>/<the page's first voter id>. The first page's key
// ends with the empty id, so every voter has a page: the one State.Floor
// finds at or below ballots/<process id>/<voter>. A cast reads and writes
// that one page, whatever the size of the vote; a page that grows past
// pageMax splits in two. The close reads the pages in key order, which is
// voter order: a million ballots are some 20,000 rows rather than a
// million, and they come sorted, as the count and the digest want them.
//
// A page is a JSON array of [voter, revision, cast time in Unix
// nanoseconds (0: unset), choice], read by a few lines of code rather than
// a JSON decoder (PostgreSQL's jsonb gives it back with spaces, which the
// reader skips).
//
// Polls started by earlier versions kept one key per voter,
// ballot/<process id>/<voter>, holding [revision, cast time, choice] or,
// earlier still, a tally.Ballot object. They are read where they are
// until the first cast after the upgrade moves them into pages
// (upgradeBallots), once.

// pageMax is the most ballots a page holds before it splits: small enough
// that a cast's page is a few kilobytes, large enough that a million
// ballots are a few tens of thousands of rows.
const pageMax = 64

// pagedKey marks, in a poll's process state, that its ballots are paged.
const pagedKey = "paged"

// pagePrefix is where a poll's ballot pages live in the instance state.
func pagePrefix(processID int64) string {
	return "ballots/" + strconv.FormatInt(processID, 10) + "/"
}

// page is one page of a poll's ballots, as a cast reads and changes it.
type page struct {
	key     string
	ballots []tally.Ballot // sorted by voter
}

// loadPage reads the page where voter's ballot is or belongs (an empty
// first page when the poll has none yet), and where in it.
func loadPage(ctx context.Context, c *plugin.Call, p *plugin.Process, voter string) (pg page, at int, found bool, err error) {
	if err := upgradeBallots(ctx, c, p); err != nil {
		return pg, 0, false, err
	}
	prefix := pagePrefix(p.ID())
	var raw json.RawMessage
	key, ok, err := c.State().Floor(ctx, prefix, prefix+voter, &raw)
	if err != nil {
		return pg, 0, false, err
	}
	if !ok {
		return page{key: prefix}, 0, false, nil
	}
	pg.key = key
	if err := readPage(raw, func(b tally.Ballot) error {
		pg.ballots = append(pg.ballots, b)
		return nil
	}); err != nil {
		return pg, 0, false, fmt.Errorf("reading ballot page %q: %w", key, err)
	}
	at, found = pg.search(voter)
	return pg, at, found, nil
}

// search finds voter in the page: where the ballot is, or would go.
func (pg *page) search(voter string) (int, bool) {
	lo, hi := 0, len(pg.ballots)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pg.ballots[m].Voter < voter {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(pg.ballots) && pg.ballots[lo].Voter == voter
}

// put stores b at position at of the page (replacing the ballot there when
// replace is set), splitting the page when it grows too large.
func (pg *page) put(c *plugin.Call, prefix string, b tally.Ballot, at int, replace bool) error {
	if replace {
		pg.ballots[at] = b
	} else {
		pg.ballots = append(pg.ballots, tally.Ballot{})
		copy(pg.ballots[at+1:], pg.ballots[at:])
		pg.ballots[at] = b
	}
	if len(pg.ballots) <= pageMax {
		return c.State().Set(pg.key, encodePage(pg.ballots))
	}
	half := len(pg.ballots) / 2
	right := pg.ballots[half:]
	if err := c.State().Set(pg.key, encodePage(pg.ballots[:half])); err != nil {
		return err
	}
	return c.State().Set(prefix+right[0].Voter, encodePage(right))
}

// writePages stores sorted ballots as fresh pages of up to fill each.
func writePages(c *plugin.Call, prefix string, ballots []tally.Ballot, fill int) error {
	return paginate(prefix, ballots, fill, func(key string, value json.RawMessage) error {
		return c.State().Set(key, value)
	})
}

// paginate cuts sorted ballots into pages of up to fill each and calls fn
// with each page's key and value.
func paginate(prefix string, ballots []tally.Ballot, fill int, fn func(key string, value json.RawMessage) error) error {
	for i := 0; i < len(ballots); i += fill {
		run := ballots[i:min(i+fill, len(ballots))]
		key := prefix + run[0].Voter
		if i == 0 {
			key = prefix // the first page takes every voter before the second
		}
		if err := fn(key, encodePage(run)); err != nil {
			return err
		}
	}
	return nil
}

// loadBallots reads a poll's ballots, one per voter, sorted by voter id.
// about is how many there are likely to be (0: unknown), so that a large
// vote's slice is made once. It writes nothing: a poll an earlier version
// started is read as that version stored it until a cast moves its
// ballots into pages.
func loadBallots(ctx context.Context, c *plugin.Call, p *plugin.Process, about int) ([]tally.Ballot, error) {
	paged, err := isPaged(ctx, p)
	if err != nil {
		return nil, err
	}
	if !paged {
		return loadOldBallots(ctx, c, p)
	}
	// The pages are decoded while the store reads the next ones: on a
	// large vote the two take about as long each, and the close waits
	// for them.
	type text struct{ key, page string }
	pages := make(chan text, 64)
	decoded := make(chan error, 1)
	ballots := make([]tally.Ballot, 0, about+about/64)
	go func() {
		var d pageDecoder
		var err error
		for t := range pages {
			if err != nil {
				continue // drain, so the scan is not left blocked
			}
			if err = d.read(t.page, func(b tally.Ballot) error {
				ballots = append(ballots, b)
				return nil
			}); err != nil {
				err = fmt.Errorf("reading ballot page %q: %w", t.key, err)
			}
		}
		decoded <- err
	}()
	err = c.State().Scan(ctx, pagePrefix(p.ID()), func(key string, raw json.RawMessage) error {
		pages <- text{key, string(raw)}
		return nil
	})
	close(pages)
	if decodeErr := <-decoded; err == nil {
		err = decodeErr
	}
	return ballots, err
}

// isPaged reports whether the poll keeps its ballots in pages.
func isPaged(ctx context.Context, p *plugin.Process) (bool, error) {
	var paged bool
	_, err := p.State().Get(ctx, pagedKey, &paged)
	return paged, err
}

// oldPrefix is where earlier versions kept a poll's ballots, one key per
// voter.
func oldPrefix(processID int64) string { return "ballot/" + strconv.FormatInt(processID, 10) + "/" }

// loadOldBallots reads the ballots of a poll an earlier version started,
// one key per voter, sorted by voter id.
func loadOldBallots(ctx context.Context, c *plugin.Call, p *plugin.Process) ([]tally.Ballot, error) {
	prefix := oldPrefix(p.ID())
	var ballots []tally.Ballot
	err := c.State().Scan(ctx, prefix, func(key string, raw json.RawMessage) error {
		b, err := decodeOldBallot(key[len(prefix):], raw)
		ballots = append(ballots, b)
		return err
	})
	return ballots, err
}

// upgradeBallots moves the ballots of a poll an earlier version started
// (one key per voter) into pages, in the first cast after the upgrade;
// the rest of the invocation, and every later one, reads pages.
func upgradeBallots(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	paged, err := isPaged(ctx, p)
	if err != nil || paged {
		return err
	}
	old, err := loadOldBallots(ctx, c, p)
	if err != nil {
		return err
	}
	for _, b := range old {
		c.State().Delete(oldPrefix(p.ID()) + b.Voter)
	}
	// Pages filled three quarters, so that casts after the move add to
	// them before any splits.
	if err := writePages(c, pagePrefix(p.ID()), old, pageMax*3/4); err != nil {
		return err
	}
	return p.State().Set(pagedKey, true)
}

// encodePage is a page's stored value.
func encodePage(ballots []tally.Ballot) json.RawMessage {
	n := 2
	for _, b := range ballots {
		n += len(b.Voter) + len(b.Choice) + 40
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, b := range ballots {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		out = appendString(out, b.Voter)
		out = append(out, ',')
		out = strconv.AppendInt(out, int64(b.Revision), 10)
		out = append(out, ',')
		var at int64
		if !b.CastAt.IsZero() {
			at = b.CastAt.UnixNano()
		}
		out = strconv.AppendInt(out, at, 10)
		out = append(out, ',')
		out = append(out, b.Choice...)
		out = append(out, ']')
	}
	return append(out, ']')
}

// appendString appends s as a JSON string. Voter ids are valid UTF-8 (the
// gateway refuses other request bodies), so only quotes, backslashes and
// control characters need escaping.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			out = append(out, '\\', ch)
		case ch < 0x20:
			out = append(out, `\u00`...)
			out = append(out, "0123456789abcdef"[ch>>4], "0123456789abcdef"[ch&0xf])
		default:
			out = append(out, ch)
		}
	}
	return append(out, '"')
}

// readPage calls fn with each ballot of the page raw, in order. raw may
// be reused once it returns.
func readPage(raw []byte, fn func(tally.Ballot) error) error {
	var d pageDecoder
	return d.read(string(raw), fn)
}

// pageDecoder decodes ballot pages. The ballots it gives refer to memory
// it keeps: their voters are substrings of their page's text, and their
// choices are copied into large shared blocks, so that a million ballots
// are some thousands of allocations rather than millions.
type pageDecoder struct {
	block []byte
}

// read calls fn with each ballot of the page text, in order.
func (d *pageDecoder) read(text string, fn func(tally.Ballot) error) error {
	sc := scanner{s: text}
	if !sc.next('[') {
		return sc.fail("a page: [ballots]")
	}
	if sc.next(']') {
		return sc.end()
	}
	for {
		b, err := sc.ballot(d)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		if sc.next(']') {
			return sc.end()
		}
		if !sc.next(',') {
			return sc.fail("a comma or the end of the page")
		}
	}
}

// keep copies a choice into the current block, starting a new one when
// it is full, each twice as large as the last up to 64 KiB: a cast reads
// one page, a close thousands.
func (d *pageDecoder) keep(choice string) json.RawMessage {
	const maxBlock = 64 << 10
	if len(choice) > maxBlock/4 {
		return json.RawMessage(choice)
	}
	if cap(d.block)-len(d.block) < len(choice) {
		d.block = make([]byte, 0, max(min(max(2*cap(d.block), 1<<10), maxBlock), len(choice)))
	}
	start := len(d.block)
	d.block = append(d.block, choice...)
	return d.block[start:len(d.block):len(d.block)]
}

// scanner reads the JSON of a ballot page.
type scanner struct {
	s string
	i int
}

func (sc *scanner) space() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\n' || sc.s[sc.i] == '\t' || sc.s[sc.i] == '\r') {
		sc.i++
	}
}

// next consumes ch, after any space, if it comes next.
func (sc *scanner) next(ch byte) bool {
	sc.space()
	if sc.i < len(sc.s) && sc.s[sc.i] == ch {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner) fail(want string) error {
	return fmt.Errorf("not a ballot page: want %s at byte %d", want, sc.i)
}

func (sc *scanner) end() error {
	if sc.space(); sc.i != len(sc.s) {
		return sc.fail("the end")
	}
	return nil
}

// ballot reads [voter, revision, cast time, choice], its choice kept by d.
func (sc *scanner) ballot(d *pageDecoder) (tally.Ballot, error) {
	var b tally.Ballot
	if !sc.next('[') {
		return b, sc.fail("a ballot: [voter, revision, cast time, choice]")
	}
	sc.space()
	start := sc.i
	escaped, err := sc.skipString()
	if err != nil {
		return b, err
	}
	if b.Voter = sc.s[start+1 : sc.i-1]; escaped {
		if err := json.Unmarshal([]byte(sc.s[start:sc.i]), &b.Voter); err != nil {
			return b, fmt.Errorf("not a ballot page: voter at byte %d: %w", start, err)
		}
	}
	var nums [2]int64
	for k := range nums {
		if !sc.next(',') {
			return b, sc.fail("a comma")
		}
		sc.space()
		start := sc.i
		for sc.i < len(sc.s) && (sc.s[sc.i] == '-' || '0' <= sc.s[sc.i] && sc.s[sc.i] <= '9') {
			sc.i++
		}
		n, err := strconv.ParseInt(sc.s[start:sc.i], 10, 64)
		if err != nil {
			return b, sc.fail("a whole number")
		}
		nums[k] = n
	}
	if !sc.next(',') {
		return b, sc.fail("a comma")
	}
	sc.space()
	start = sc.i
	if err := sc.skipValue(); err != nil {
		return b, err
	}
	b.Choice = d.keep(sc.s[start:sc.i])
	if !sc.next(']') {
		return b, sc.fail("the end of a ballot")
	}
	b.Revision = int(nums[0])
	if nums[1] != 0 {
		b.CastAt = time.Unix(0, nums[1]).UTC()
	}
	return b, nil
}

// skipString passes a JSON string and reports whether it has escapes.
func (sc *scanner) skipString() (escaped bool, err error) {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return false, sc.fail("a string")
	}
	for sc.i++; sc.i < len(sc.s); sc.i++ {
		switch sc.s[sc.i] {
		case '\\':
			escaped = true
			sc.i++
		case '"':
			sc.i++
			return escaped, nil
		}
	}
	return false, sc.fail("the end of a string")
}

// skipValue passes one JSON value (a choice): a string, an array or
// object, whose nesting it follows, or a number or word. The tally checks
// the choice itself; this only finds where it ends.
func (sc *scanner) skipValue() error {
	if sc.i >= len(sc.s) {
		return sc.fail("a choice")
	}
	switch sc.s[sc.i] {
	case '"':
		_, err := sc.skipString()
		return err
	case '[', '{':
		depth := 0
		for sc.i < len(sc.s) {
			switch sc.s[sc.i] {
			case '"':
				if _, err := sc.skipString(); err != nil {
					return err
				}
				continue
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					sc.i++
					return nil
				}
			}
			sc.i++
		}
		return sc.fail("the end of a choice")
	}
	start := sc.i
	for sc.i < len(sc.s) && strings.IndexByte(",]} \t\r\n", sc.s[sc.i]) < 0 {
		sc.i++
	}
	if sc.i == start {
		return sc.fail("a choice")
	}
	return nil
}

// decodeOldBallot reads a ballot an earlier version stored under its own
// key: [revision, cast time, choice], or a tally.Ballot object before that.
func decodeOldBallot(voter string, raw []byte) (tally.Ballot, error) {
	s := bytes.TrimSpace(raw)
	if len(s) > 0 && s[0] == '{' {
		var b tally.Ballot
		if err := json.Unmarshal(s, &b); err != nil {
			return b, fmt.Errorf("decoding the ballot of %q: %w", voter, err)
		}
		b.Voter = voter
		return b, nil
	}
	if len(s) == 0 || s[0] != '[' {
		return tally.Ballot{}, fmt.Errorf("decoding the ballot of %q: not [revision, cast time, choice]: %.40q", voter, s)
	}
	// [revision, cast time, choice] is a page entry without its voter.
	entry := make([]byte, 0, len(s)+len(voter)+8)
	entry = append(entry, '[', '[')
	entry = appendString(entry, voter)
	entry = append(entry, ',')
	entry = append(entry, bytes.TrimPrefix(s, []byte("["))...)
	entry = append(entry, ']')
	var b tally.Ballot
	err := readPage(entry, func(got tally.Ballot) error { b = got; return nil })
	if err != nil {
		return b, fmt.Errorf("decoding the ballot of %q: not [revision, cast time, choice]: %.40q", voter, s)
	}
	return b, nil
}
