package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// smoke runs the whole harness briefly. It is off by default: `go test ./...`
// only compiles the harness, it never loads the machine.
var smoke = flag.Bool("smoke", false, "run the load harness for a moment against a freshly built gateway")

// TestMain lets the test binary serve the bare handler when the harness
// starts it for that, as the command does.
func TestMain(m *testing.M) {
	serveBareIfAsked()
	os.Exit(m.Run())
}

// TestSmoke builds the gateway, runs every scenario for half a second at
// c=2 (vote-cast for two methods, 50 ballots at 0 and at 150) and checks
// that each has its row in the printed table, that every request was
// answered with a 2xx and every event arrived:
//
//	go test ./test/load -smoke
func TestSmoke(t *testing.T) {
	if !*smoke {
		t.Skip("the load harness runs only with -smoke (go test ./test/load -smoke)")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rows, err := run(ctx, options{duration: 500 * time.Millisecond, conc: 2, backlog: 150, out: &out,
		scenarios: "actions,get-process,process-start,webhook-event,backlog,vote-cast", database: os.Getenv("METAGOV_TEST_POSTGRES_URL"),
		vote: voteOpts{at: "0,150", window: 50, methods: "approval,ranked-choice"}})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bare JSON POST", "bare JSON GET", "actions (random-int)", "GET process", "process start", "webhook → event", "backlog drain (150)",
		"vote.cast approval @ first 50", "vote.cast approval @ 150", "vote.cast ranked-choice @ first 50", "vote.cast ranked-choice @ 150"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if r.name != want[i] {
			t.Errorf("row %d is %q, want %q", i, r.name, want[i])
		}
		if r.all == 0 || r.ok != r.all || r.rps <= 0 {
			t.Errorf("%s: %d of %d ok at %.0f/s (%s)", r.name, r.ok, r.all, r.rps, r.note)
		}
		if !strings.Contains(out.String(), r.name+" ") {
			t.Errorf("%s is not in the table", r.name)
		}
	}
}

// TestSmokeTwoGateways runs the harness with -gateways 2 on PostgreSQL for a
// moment and checks that the requests, sent to both gateways in turn, were
// all answered with a 2xx and that each scenario notes where the CPU went:
//
//	METAGOV_TEST_POSTGRES_URL=postgres://… go test ./test/load -smoke -run TwoGateways
func TestSmokeTwoGateways(t *testing.T) {
	if !*smoke {
		t.Skip("the load harness runs only with -smoke (go test ./test/load -smoke)")
	}
	pg := os.Getenv("METAGOV_TEST_POSTGRES_URL")
	if pg == "" {
		t.Skip("two gateways need PostgreSQL: set METAGOV_TEST_POSTGRES_URL")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rows, err := run(ctx, options{duration: 500 * time.Millisecond, conc: 2, out: &out, gateways: 2,
		scenarios: "actions,get-process,process-start", database: pg})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 gateway process(es)") {
		t.Error("the header does not say two gateways ran")
	}
	for _, r := range rows {
		if r.all == 0 || r.ok != r.all {
			t.Errorf("%s: %d of %d ok (%s)", r.name, r.ok, r.all, r.note)
		}
		if !strings.HasPrefix(r.name, "bare") && !strings.Contains(r.cpu, "cpu (cores): gateway") {
			t.Errorf("%s has no CPU note: %q", r.name, r.cpu)
		}
	}
}
