# OpenSTS. `make test` installs what the tests need (Debian packages) and runs
# every test; `make run` starts the server on its embedded defaults.

GO ?= go
export CGO_ENABLED ?= 0

.PHONY: all build run test test-deps unit e2e race vet lint fmt-check bench fuzz clean

all: build

build:
	$(GO) build -o opensts ./cmd/opensts

run: build
	./opensts serve

# The whole suite: dependencies, formatting, vet, unit and end-to-end tests
# (aws-sdk-go-v2, the AWS CLI, boto3, oathtool, a local PostgreSQL server for
# the postgres backend), then the race detector.
test: test-deps fmt-check vet lint
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) race

# Unit tests only (no server binary, no external clients; SQLite only).
unit:
	$(GO) test -count=1 ./internal/... ./cmd/...

# End-to-end tests: the real server driven by aws-sdk-go-v2, the AWS CLI and
# boto3, and PostgreSQL (needs `make test-deps` once).
e2e:
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" $(GO) test -count=1 -timeout 30m ./e2e

# golangci-lint (errcheck, staticcheck, unused, govet, ...; .golangci.yml),
# pinned in tools/go.mod.
lint:
	$(GO) tool -modfile=tools/go.mod golangci-lint run ./...

test-deps:
	./scripts/test-deps

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The race detector over the unit tests and every end-to-end test: the
# opensts processes the end-to-end tests start (serve, gateway,
# credentials serve, the audit and keys commands) are built with -race too
# (e2e buildBinary), and a test fails when one reports a race (checkRaces),
# so the server is checked while the AWS CLI, boto3 and the SDK drive it,
# not only where a test runs it in process.
race:
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 40m ./internal/... ./verifier/... ./e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/policy ./internal/sigv4 ./internal/session ./internal/awsquery ./internal/sts ./internal/server ./e2e

# Every fuzz target, one package and one target at a time, FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/fuzz

clean:
	rm -f opensts
