# Everyday targets; CONTRIBUTING.md describes them. `make ci` runs what CI runs.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
FUZZTIME ?= 30s

.PHONY: build test test-postgres lint fmt vet fuzz bench load ci

build:
	go build -o metagov ./cmd/metagov

test:
	go test ./...

# The API suites again on a fresh PostgreSQL schema (they fail, never skip,
# when the server is down).
test-postgres:
	METAGOV_TEST_POSTGRES_URL='$(POSTGRES_URL)' go test ./...

lint:
	$(GOLANGCI_LINT) run ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

# Each Go fuzz target for FUZZTIME, then a long run of the HTTP fuzzer.
fuzz:
	go test ./internal/httpapi -run '^$$' -fuzz '^FuzzCommunityBody$$' -fuzztime $(FUZZTIME)
	go test ./internal/httpapi -run '^$$' -fuzz '^FuzzActionBody$$' -fuzztime $(FUZZTIME)
	go test ./plugins/discourse -run '^$$' -fuzz '^FuzzVerifySignature$$' -fuzztime $(FUZZTIME)
	go test ./plugins/vote/tally -run '^$$' -fuzz '^FuzzCheckBallot$$' -fuzztime $(FUZZTIME)
	go test ./test/httpfuzz -run TestHTTPFuzz -httpfuzz.n=20000

bench:
	go test -run '^$$' -bench . -benchmem ./internal/httpapi ./internal/delivery ./plugins/vote ./plugins/vote/tally

# The load harness against a freshly built binary (README, "Performance"); LOAD_ARGS passes flags.
load:
	go run ./test/load $(LOAD_ARGS)

ci:
	.ci/run
