# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := service/static/vendor/cytoscape.min.js

.PHONY: demo test test-fast lint lint-web format bench web install clean default-model calibrate quality

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) web

# JavaScript libraries of the web page come from npm (web/package.json), copied into service/static/vendor.
web: $(VENDOR)
$(VENDOR): web/package.json web/package-lock.json web/copy-vendor.mjs
	bash web/build.sh
	touch $(VENDOR)

demo: install
	$(BIN)/ringscope demo

test: install lint-web
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The page's own scripts (service/static/app.js, js/): ESLint from web/'s devDependencies.
lint-web: web
	web/node_modules/.bin/eslint -c web/eslint.config.mjs service/static/app.js service/static/js

lint: $(STAMP) lint-web
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The shipped artefacts, and how they were made.
default-model: $(STAMP)
	$(BIN)/python -m bench.train_default
calibrate: $(STAMP)
	$(BIN)/python -m bench.calibrate

bench: install
	$(BIN)/python -m bench.generate --accounts 1000000
	$(BIN)/python -m bench.load_events --accounts 1000000
	$(BIN)/python -m bench.graph_build --accounts 1000000
	$(BIN)/python -m bench.quality --accounts 100000 --worlds 3
	$(BIN)/python -m bench.service

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache web/node_modules service/static/vendor
