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
	$(BIN)/pip install -q -e '.[dev]'
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
