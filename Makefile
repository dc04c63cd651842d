# frtwatch: make demo (the whole pipeline on a local broker) and make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
FRT    := $(BIN)/frtwatch
DEMO   ?= .demo
# The local broker's port; tests and the demo talk to it unless FRTWATCH_BOOTSTRAP says otherwise.
FRTWATCH_KAFKA_PORT ?= 9092
FRTWATCH_BOOTSTRAP  ?= 127.0.0.1:$(FRTWATCH_KAFKA_PORT)
export FRTWATCH_KAFKA_PORT FRTWATCH_BOOTSTRAP

.PHONY: help install demo demo-sources test unit integration browser lint bench kafka-up kafka-down clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed  ## create .venv with frtwatch and its dependencies

kafka-up: install  ## start the local Kafka broker (fetched from Maven Central once)
	$(FRT) kafka up

kafka-down: install  ## stop the local Kafka broker
	$(FRT) kafka down

demo: kafka-up  ## the whole pipeline end to end on the local broker
	$(BIN)/python -m streams.demo --dir $(DEMO)

demo-sources: kafka-up  ## from a Squid log and a Zeek dns.log to alerts in the console
	$(BIN)/python -m streams.sources.demo --dir $(DEMO)-sources

test: kafka-up  ## every test: unit, doctests, integration (real Kafka), browser
	$(BIN)/pytest -q -p no:cacheprovider

unit: install  ## fast tests with no broker
	$(BIN)/pytest -q -p no:cacheprovider tests/unit streams models

integration: kafka-up  ## tests against the real broker
	$(BIN)/pytest -q -p no:cacheprovider tests/integration

browser: kafka-up  ## console tests in Chromium
	$(BIN)/pytest -q -p no:cacheprovider tests/browser

lint: install  ## ruff and mypy
	$(BIN)/ruff check streams models tests
	$(BIN)/ruff format --check streams models tests
	$(BIN)/mypy

bench: kafka-up  ## throughput, latency and state-size benchmarks (not part of make test)
	$(BIN)/python -m streams.bench

clean:  ## remove the demo output and local state (not the broker's jars)
	rm -rf $(DEMO) .frtwatch test-artifacts
