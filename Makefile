# Two commands for a fresh machine:  make run  (serve on 127.0.0.1:8000)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean browser test-virtuoso imports yasgui

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# The second SHACL engine (shacl-engine, from npm) that the tests run the shapes through.
ENGINE := shapes/engine-check
$(ENGINE)/node_modules/.installed: $(ENGINE)/package-lock.json
	npm ci --prefix $(ENGINE) --no-audit --no-fund --loglevel=error
	touch $@

# Comunica, the generic linked-data client that the tests query the server with (4.x: the last major for Node 20).
CLIENTS := tests/clients
$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package-lock.json
	npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error
	touch $@

# The query editor's built files, shipped in api/static/yasgui: copied from the pinned npm package.
yasgui: $(CLIENTS)/node_modules/.installed
	cp $(CLIENTS)/node_modules/@zazuko/yasgui/build/yasgui.min.js $(CLIENTS)/node_modules/@zazuko/yasgui/build/yasgui.min.css api/static/yasgui/

# kgx, the Biolink ecosystem's validator of KGX files, in an environment of its own (its pins clash with the project's;
# biolink-model is pinned here only so that pip resolves: the tests give it the project's pinned Biolink YAML).
KGX_VENV := .venv-kgx
$(KGX_VENV)/.installed: tests/validators/kgx-requirements.txt
	$(PYTHON) -m venv $(KGX_VENV)
	$(KGX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KGX_VENV)/bin/python -m pip install --quiet -r tests/validators/kgx-requirements.txt
	touch $@

# reasoner-validator (the Translator's TRAPI validator) and reasoner-pydantic (its TRAPI models), in an environment of
# their own, with the project's Biolink release.
TRAPI_VENV := .venv-trapi
$(TRAPI_VENV)/.installed: tests/validators/trapi-requirements.txt
	$(PYTHON) -m venv $(TRAPI_VENV)
	$(TRAPI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TRAPI_VENV)/bin/python -m pip install --quiet -r tests/validators/trapi-requirements.txt
	touch $@

# Headless Chromium for the browser tests (Debian package; needs root, as on the CI machine).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

install: $(BIN)/.installed

run: install
	$(BIN)/poems-kg serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(ENGINE)/node_modules/.installed $(CLIENTS)/node_modules/.installed $(KGX_VENV)/.installed $(TRAPI_VENV)/.installed browser
	$(BIN)/python -m pytest

# Optional: every API test also on Virtuoso open source (Debian package; needs root to install, as on the CI machine).
test-virtuoso: install
	@command -v virtuoso-t >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource-7-bin)
	POEMS_KG_TEST_VIRTUOSO=1 $(BIN)/python -m pytest tests -k virtuoso

# Regenerate the import slices and MONDO's exact mappings from ../shared/ontology-terms and the pinned PyPI releases.
imports: install
	$(BIN)/poems-kg refresh-imports --kg-dir bench/hpoa-all

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(KGX_VENV) $(TRAPI_VENV) build .pytest_cache .mypy_cache .ruff_cache
