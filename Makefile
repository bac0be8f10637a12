# The make targets of CONTRACT.md. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go

NODES := pcscf icscf scscf hss dra ussd smsip
BINS  := $(NODES) imslab

# -race needs cgo and a C compiler; without them the tests still run, without the detector.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v gcc >/dev/null && echo -race)
# The CI job has 90 minutes; this bounds the Go test run inside it.
TEST_TIMEOUT ?= 45m
FUZZTIME ?= 10s
IMAGE_PREFIX ?= imscore
COMPOSE ?= $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
	elif command -v docker-compose >/dev/null; then echo docker-compose; fi)

.PHONY: all build $(addprefix bin/,$(BINS)) test test-deps vet test-go test-sctp bench bench-sipp lab images compose-up fuzz clean

all: build

build: $(addprefix bin/,$(BINS))

# Static binaries: no cgo, no local paths, no symbol tables.
$(addprefix bin/,$(BINS)):
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/$(notdir $@)

test: test-deps vet test-go test-sctp

test-deps:
	scripts/install-test-deps.sh

vet:
	$(GO) vet ./...

# IMS_REQUIRE_TOOLS=1: a test that needs tshark, sipp, freeDiameterd, qemu or psql fails
# instead of skipping, because test-deps has just installed them.
# IMS_TEST_POSTGRES_DSN: the HSS store suite also runs on a real PostgreSQL, started by
# scripts/pg-test-db.sh (as root; it prints nothing and the suite fails when it cannot).
# IMS_ARTIFACTS: every tshark capture of the tests is kept in artifacts/ (pkg/testutil).
test-go:
	IMS_REQUIRE_TOOLS=1 IMS_ARTIFACTS=$(CURDIR)/artifacts IMS_TEST_POSTGRES_DSN="$$(scripts/pg-test-db.sh || true)" \
		$(GO) test $(RACE) -count=1 -timeout $(TEST_TIMEOUT) ./...

test-sctp:
	@if [ -x test/sctp/run.sh ]; then test/sctp/run.sh; \
	else echo "test-sctp: test/sctp/run.sh not present, nothing to run"; fi

# Every package with a Benchmark function; the figures go to docs/bench/latest.txt
# (docs/PERFORMANCE.md explains them).
BENCH_PKGS = $(shell grep -rl --include='*_test.go' '^func Benchmark' . | xargs -r -n1 dirname | sort -u)
bench:
	@mkdir -p docs/bench
	@if [ -z "$(BENCH_PKGS)" ]; then echo "bench: no benchmarks yet"; exit 0; fi; \
	{ echo "# make bench, $$(date -u +%Y-%m-%dT%H:%M:%SZ), $$($(GO) version), $$(nproc) CPUs"; \
	  IMS_TEST_POSTGRES_DSN="$$(scripts/pg-test-db.sh 2>/dev/null || true)" \
	  $(GO) test -run '^$$' -bench . -benchmem $(BENCH_PKGS); } 2>&1 | tee docs/bench/latest.txt; \
	exit $${PIPESTATUS[0]}

# The IMS registration benchmark through the real binaries with SIPp (docs/PERFORMANCE.md,
# "SIP proxy core and CSCFs"); its variables (USERS, INIT_RATE, REREG_RATE, PROFILE, ...) are
# described in test/bench/register.sh. The figures go to docs/bench/sipp-register.txt.
bench-sipp:
	@mkdir -p docs/bench
	@test/bench/register.sh 2>&1 | tee docs/bench/sipp-register.txt; exit $${PIPESTATUS[0]}

lab: bin/imslab
	bin/imslab

# One FROM scratch image per node from the static binaries in bin/.
images: $(addprefix bin/,$(NODES))
	for n in $(NODES); do docker build --build-arg NODE=$$n -t $(IMAGE_PREFIX)/$$n:latest . || exit 1; done

compose-up: images
	@if [ -z "$(COMPOSE)" ]; then echo "compose-up: neither 'docker compose' nor docker-compose found" >&2; exit 1; fi
	$(COMPOSE) up -d
	@echo "compose lab up: HSS REST http://127.0.0.1:8080/api/v1 (Bearer compose-admin), P-CSCF 127.0.0.1:5060 udp+tcp;"
	@echo "'$(COMPOSE) ps' shows health, '$(COMPOSE) down' stops it (add -v to delete its data). See README.md."

# Short runs of every fuzz target (go test runs one -fuzz target per invocation).
fuzz:
	@grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func / /' | sort -u | \
	while read -r file name; do \
		echo "fuzz: $$name in $$(dirname $$file)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) "$$(dirname $$file)" || exit 1; \
	done

clean:
	rm -rf bin/
