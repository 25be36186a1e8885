# The two commands: `make run` (fresh clone -> running system) and `make test` (the suite).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run setup test test-unit test-integration test-e2e bench lint format messages services-start services-stop clean

run: setup
	$(BIN)/honcho -f Procfile start

setup: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap

$(VENV)/.installed: requirements.txt requirements-dev.txt
	bash scripts/system-deps.sh run
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

test: $(VENV)/.installed
	bash scripts/system-deps.sh test
	bash scripts/run-tests.sh

test-unit: $(VENV)/.installed
	$(BIN)/pytest -m "not integration and not e2e" -n 2 -q

test-integration: $(VENV)/.installed
	eval "$$(scripts/test-services.sh start)" && LOANSITE_INTEGRATION=1 DATABASE_URL="$$TEST_DATABASE_URL" \
		REDIS_URL="$$TEST_REDIS_URL" $(BIN)/pytest -m integration -q

test-e2e: $(VENV)/.installed
	$(BIN)/pytest -m e2e -q

bench: $(VENV)/.installed
	$(BIN)/python manage.py bench $(if $(SCALE),--scale $(SCALE),)

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

messages:
	for d in . loansite audit customers loans risk scoring; do (cd $$d && ../$(BIN)/python ../manage.py compilemessages -l zh_Hans 2>/dev/null || true); done

clean:
	rm -rf var/broker var/cache var/bench
