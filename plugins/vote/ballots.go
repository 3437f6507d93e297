package vote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// A poll's ballots are stored one key per voter, ballot/<process id>/<voter>,
// so that casting writes one small value and finds the voter's earlier
// ballot with one lookup. The value is compact: [revision, cast time in
// Unix nanoseconds (0: unset), choice], the voter being in the key. The
// close reads every ballot, so the form is one a few lines of code read
// without encoding/json: a million ballots then take a pass over the rows
// rather than a JSON decoder's work each. Ballots stored by earlier
// versions as tally.Ballot objects are read too.

// ballotPrefix is where a poll's ballots live in the instance state.
func ballotPrefix(processID int64) string { return "ballot/" + strconv.FormatInt(processID, 10) + "/" }

// encodeBallot is a ballot's stored value.
func encodeBallot(b tally.Ballot) json.RawMessage {
	out := make([]byte, 0, 32+len(b.Choice))
	out = append(out, '[')
	out = strconv.AppendInt(out, int64(b.Revision), 10)
	out = append(out, ',')
	var at int64
	if !b.CastAt.IsZero() {
		at = b.CastAt.UnixNano()
	}
	out = strconv.AppendInt(out, at, 10)
	out = append(out, ',')
	out = append(out, b.Choice...)
	return append(out, ']')
}

// ballotReader decodes stored ballots, copying their choices into large
// shared blocks rather than one allocation each.
type ballotReader struct {
	block []byte
}

// decode reads voter's stored ballot. The choice is copied: raw may be
// reused once it returns.
func (rd *ballotReader) decode(voter string, raw []byte) (tally.Ballot, error) {
	s := bytes.TrimSpace(raw)
	if len(s) > 0 && s[0] == '{' { // as earlier versions stored it
		var b tally.Ballot
		if err := json.Unmarshal(s, &b); err != nil {
			return b, fmt.Errorf("decoding the ballot of %q: %w", voter, err)
		}
		b.Voter = voter
		return b, nil
	}
	bad := func() (tally.Ballot, error) {
		return tally.Ballot{}, fmt.Errorf("decoding the ballot of %q: not [revision, cast time, choice]: %.40q", voter, s)
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return bad()
	}
	s = s[1 : len(s)-1]
	var nums [2]int64
	for i := range nums {
		comma := bytes.IndexByte(s, ',')
		if comma < 0 {
			return bad()
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(s[:comma])), 10, 64)
		if err != nil {
			return bad()
		}
		nums[i], s = n, s[comma+1:]
	}
	choice := bytes.TrimSpace(s)
	if len(choice) == 0 {
		return bad()
	}
	b := tally.Ballot{Voter: voter, Revision: int(nums[0]), Choice: rd.keep(choice)}
	if nums[1] != 0 {
		b.CastAt = time.Unix(0, nums[1]).UTC()
	}
	return b, nil
}

// keep copies p into the current block, starting a new one when it is full.
func (rd *ballotReader) keep(p []byte) json.RawMessage {
	const blockSize = 64 << 10
	if len(p) > blockSize/4 {
		return bytes.Clone(p)
	}
	if cap(rd.block)-len(rd.block) < len(p) {
		rd.block = make([]byte, 0, blockSize)
	}
	start := len(rd.block)
	rd.block = append(rd.block, p...)
	return rd.block[start:len(rd.block):len(rd.block)]
}

// getBallot reads voter's ballot in the poll, if they cast one.
func getBallot(ctx context.Context, c *plugin.Call, processID int64, voter string) (tally.Ballot, bool, error) {
	var raw json.RawMessage
	found, err := c.State().Get(ctx, ballotPrefix(processID)+voter, &raw)
	if err != nil || !found {
		return tally.Ballot{}, false, err
	}
	var rd ballotReader
	b, err := rd.decode(voter, raw)
	return b, err == nil, err
}

// putBallot stores a ballot of the poll.
func putBallot(c *plugin.Call, processID int64, b tally.Ballot) error {
	return c.State().Set(ballotPrefix(processID)+b.Voter, encodeBallot(b))
}

// loadBallots reads a poll's ballots, one per voter, sorted by voter id
// (the order of their keys). about is how many there are likely to be (0:
// unknown), so that a large vote's slice is made once.
func loadBallots(ctx context.Context, c *plugin.Call, p *plugin.Process, about int) ([]tally.Ballot, error) {
	prefix := ballotPrefix(p.ID())
	var rd ballotReader
	ballots := make([]tally.Ballot, 0, about+about/64)
	err := c.State().Scan(ctx, prefix, func(key string, raw json.RawMessage) error {
		b, err := rd.decode(key[len(prefix):], raw)
		if err != nil {
			return err
		}
		ballots = append(ballots, b)
		return nil
	})
	return ballots, err
}
