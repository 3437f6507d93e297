//go:build !unix

package vote_test

import (
	"testing"
	"time"
)

// cpuTime is not measured here: the benchmark reports zero CPU per ballot.
func cpuTime(*testing.B) time.Duration { return 0 }
