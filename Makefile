# OpenSTS. `make test` installs what the tests need (Debian packages) and runs
# every test; `make run` starts the server on its embedded defaults.

GO ?= go
export CGO_ENABLED ?= 0

.PHONY: all build run test test-deps unit e2e race vet fmt-check bench fuzz clean

all: build

build:
	$(GO) build -o opensts ./cmd/opensts

run: build
	./opensts serve

# The whole suite: dependencies, formatting, vet, unit and end-to-end tests
# (aws-sdk-go-v2, the AWS CLI, boto3, oathtool, a local PostgreSQL server for
# the postgres backend), then the race detector.
test: test-deps fmt-check vet
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" $(GO) test -count=1 ./...
	$(MAKE) race

test-deps:
	./scripts/test-deps

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

race:
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" CGO_ENABLED=1 $(GO) test -race -count=1 ./internal/... ./e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/policy ./internal/sigv4 ./internal/session ./internal/awsquery ./internal/sts ./internal/server ./e2e

# Fuzz one package at a time (fuzzing from the root fuzzes nothing).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./internal/policy -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/policy -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/policy -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/arn -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/sigv4 -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/session -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

clean:
	rm -f opensts
