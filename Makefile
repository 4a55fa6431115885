# caliper-processor: every target uses the project's own .venv (made by `make install`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA_PORT ?= 9092
export KAFKA_PORT
PYTEST_ARGS ?=

.PHONY: install test lint format kafka-up kafka-down

$(BIN)/caliper-processor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# setuptools prints an "Editable installation" note on every editable install; it is not a warning
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e '.[dev,bench]'
	@touch $@

install: $(BIN)/caliper-processor ## create .venv with the package and its dev tools

test: install ## the whole suite, including the tests against a real broker (started if needed)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

kafka-up: ## start the local single-node broker on 127.0.0.1:$KAFKA_PORT (no-op when up)
	@deploy/local-kafka/kafka.sh up

kafka-down: ## stop the local broker and delete its data
	@deploy/local-kafka/kafka.sh down

# ---- bench: QUIX_VENV holds Quix Streams apart (it pins an older confluent-kafka than ours) ----
QUIX_VENV := bench-results/quix-venv
QUIX_VERSION ?= 3.28.1
.PHONY: bench

bench: install ## throughput vs passthrough, Quix Streams and mapping alone, latency at 2,000 events/s (bench-results/)
	@test -f $(QUIX_VENV)/.ready || { $(PYTHON) -m venv $(QUIX_VENV) \
	  && $(QUIX_VENV)/bin/pip install -q 'quixstreams==$(QUIX_VERSION)' && touch $(QUIX_VENV)/.ready; } \
	  || echo "bench: no Quix Streams virtualenv; that contender is skipped"
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then deploy/local-kafka/kafka.sh up; fi
	KAFKA_BOOTSTRAP_SERVERS="$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$(KAFKA_PORT)}" \
	  BENCH_QUIX_PYTHON="$${BENCH_QUIX_PYTHON:-$$(test -f $(QUIX_VENV)/.ready && echo $(QUIX_VENV)/bin/python)}" \
	  $(BIN)/python -m bench

# ---- bench-ingest: the receiver under wrk and hey (Debian packages; installed here when missing and root) ----
.PHONY: bench-ingest

bench-ingest: install ## load the ingest receiver with wrk (throughput) and hey (latency at BENCH_INGEST_RATE); bench-results/ingest.json
	@for tool in wrk hey; do command -v $$tool >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get install -y -qq --no-install-recommends $$tool >/dev/null; } \
	  || { echo "bench-ingest: $$tool is needed (apt-get install wrk hey)"; exit 1; }; done
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then deploy/local-kafka/kafka.sh up; fi
	KAFKA_BOOTSTRAP_SERVERS="$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$(KAFKA_PORT)}" $(BIN)/python -m bench.ingest

# ---- soak: not part of `make test` (10 minutes by default) ----
.PHONY: soak

soak: install ## SOAK_RATE (2,000) events/s for SOAK_SECONDS (600) with a worker kill -9 and a broker restart; fails on loss, exactly-once duplicates or RSS growth > 10 %
	$(BIN)/python -m tests.faults.soak

# ---- fuzz: not part of `make test` (which runs the same properties with 200 examples each) ----
.PHONY: fuzz
FUZZ_EXAMPLES ?= 25000

fuzz: install ## hostile-input properties of the mapping, FUZZ_EXAMPLES (25,000) per property, 4 properties; prints the case count
	@mkdir -p bench-results; set -o pipefail; start=$$(date +%s); \
	  FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider tests/mappings/test_hostile_fuzz.py \
	    --hypothesis-show-statistics $(PYTEST_ARGS) | tee bench-results/fuzz.log \
	  && awk -v s=$$(( $$(date +%s) - start )) '/passing, .* failing/ {n += $$2} \
	    END {printf "fuzz: %d cases passed in %d s\n", n, s; if (n < 1) exit 1}' bench-results/fuzz.log

# ---- deployment files: alert rules (promtool), Compose and Kubernetes schemas, Dockerfile, dashboard ----
.PHONY: check-deploy

check-deploy: install ## check deploy/: promtool rules and unit tests, compose/kubernetes schemas, metric names
	@BIN=$(BIN) deploy/check.sh

.PHONY: run demo

# The broker to use: $KAFKA_BOOTSTRAP_SERVERS, else the local one (started, and its topics created).
LOCAL_BOOTSTRAP := 127.0.0.1:$(KAFKA_PORT)
RUN_ARGS ?=

run: install ## the worker against $KAFKA_BOOTSTRAP_SERVERS, else the local broker (started if needed); RUN_ARGS=...
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  deploy/local-kafka/kafka.sh up && \
	  KAFKA_BOOTSTRAP_SERVERS=$(LOCAL_BOOTSTRAP) $(BIN)/caliper-processor topics create $(if $(CONFIG),--config $(CONFIG)); \
	fi
	KAFKA_BOOTSTRAP_SERVERS=$${KAFKA_BOOTSTRAP_SERVERS:-$(LOCAL_BOOTSTRAP)} \
	  $(BIN)/caliper-processor run $(if $(CONFIG),--config $(CONFIG)) $(RUN_ARGS)

demo: install ## sample Canvas events through the worker on a local broker (started if none configured), with a summary
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then deploy/local-kafka/kafka.sh up; fi
	@KAFKA_BOOTSTRAP_SERVERS=$${KAFKA_BOOTSTRAP_SERVERS:-$(LOCAL_BOOTSTRAP)} $(BIN)/python -m processor.demo

# ---- mapping docs: docs/mappings.md is generated from the registry (tests/mappings check it) ----
.PHONY: docs-mappings

docs-mappings: install ## regenerate docs/mappings.md (every Canvas event, its Caliper form and why)
	$(BIN)/python -m mappings.docs > docs/mappings.md
