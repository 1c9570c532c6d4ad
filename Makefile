# One command runs every test: `make test`. It installs what the tests need
# on a fresh Debian machine first (scripts/install-test-deps.sh).
GO ?= go

.PHONY: test deps build vet bench bench-spark stoke

test: deps vet
	$(GO) test -race -count=1 -timeout 30m ./...

deps:
	./scripts/install-test-deps.sh

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

build: stoke

stoke:
	$(GO) build -o bin/stoke ./cmd/stoke

# Benchmarks whose numbers are recorded in docs/benchmarks.md.
bench:
	./scripts/bench.sh

# Data jobs side by side with Spark 4 (installs pyspark into ~/.cache/stoke-bench;
# SIZE=1g RUNS=3 by default, about half an hour on 2 cores).
bench-spark:
	./scripts/bench-vs-spark.sh
