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

# The race detector over the unit tests and the end-to-end tests whose server
# runs in the test process. RACE_E2E_SKIP names the end-to-end tests that
# drive only `opensts serve` processes (serveBinary: a binary built without
# -race) with the AWS CLI, boto3 or the SDK: under -race they check nothing
# of the server, only the AWS CLI's start-up time again; `make test` runs
# them once, without -race. A test that also starts a server in process
# (start) or runs other product code in process (inProcessGateway) must not
# be listed; no test outside ./e2e has these names.
RACE_E2E_SKIP = TestAWSCLIIAMCredentials|TestAWSCLIInstanceProfiles|TestOrgMembershipCLI|TestAWSCLIPasswords|TestOrgUnitsCLI|TestAWSCLI|TestAWSCLIFeatures|TestAWSCLIAccount|TestAuditLookupEveryAttribute|TestAuditDatabaseTwoNodes|TestMFAAWSCLI|TestAuditTrailWithCLIAndBoto3|TestOrgAWSCLI|TestSAMLClients|TestAuditVerifyNeedsATrustedKey|TestAuditWebhookRetriesUntilReceiverRecovers|TestAuditWebhookSink|TestAWSCLIAuthorizationDetails|TestOrgUnitsBoto3|TestKeysRevokeWhileServing|TestServeFirstStartGeneratesCredentials|TestBoto3IAMCredentials|TestBoto3Features|TestBoto3|TestKeysCommands|TestAuditEveryPathIsRecorded

race:
	OPENSTS_TEST_POSTGRES_DSN="$$(./scripts/test-postgres)" CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 40m -skip '^($(RACE_E2E_SKIP))$$' ./internal/... ./verifier/... ./e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/policy ./internal/sigv4 ./internal/session ./internal/awsquery ./internal/sts ./internal/server ./e2e

# Every fuzz target, one package and one target at a time, FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/fuzz

clean:
	rm -f opensts
