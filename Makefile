# Two commands for a fresh machine:  make run  (serve on 127.0.0.1:8000)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean browser allocator test-virtuoso imports static

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

# The browser files the package ships, copied from the pinned npm packages: the query editor (api/static/yasgui) and
# the API documentation pages, Swagger UI and Redoc (api/static/docs), so that no page loads anything from elsewhere.
static: $(CLIENTS)/node_modules/.installed
	cp $(CLIENTS)/node_modules/@zazuko/yasgui/build/yasgui.min.js $(CLIENTS)/node_modules/@zazuko/yasgui/build/yasgui.min.css api/static/yasgui/
	mkdir -p api/static/docs
	cp $(CLIENTS)/node_modules/swagger-ui-dist/swagger-ui-bundle.js $(CLIENTS)/node_modules/swagger-ui-dist/swagger-ui.css \
	   $(CLIENTS)/node_modules/swagger-ui-dist/favicon-32x32.png api/static/docs/
	cp $(CLIENTS)/node_modules/swagger-ui-dist/LICENSE api/static/docs/swagger-ui.LICENSE
	cp $(CLIENTS)/node_modules/redoc/bundles/redoc.standalone.js api/static/docs/
	cp $(CLIENTS)/node_modules/redoc/LICENSE api/static/docs/redoc.LICENSE

# The Biolink ecosystem's validators, each in an environment of its own (their pins clash with each other and with the
# project's): .venv-kgx holds kgx (biolink-model pinned there only so that pip resolves: the tests give it the
# project's Biolink YAML); .venv-trapi holds reasoner-validator and reasoner-pydantic, with the project's Biolink release.
VALIDATORS := .venv-kgx/.installed .venv-trapi/.installed
.venv-%/.installed: tests/validators/%-requirements.txt
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -r $<
	touch $@

# Headless Chromium for the browser tests (Debian package; needs root, as on the CI machine).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# jemalloc, the allocator of the processes that evaluate SPARQL (Debian package libjemalloc2; found as kg/isolated.py
# finds it): installed with apt-get when missing, as root (as on the CI machine); otherwise the C library's is used.
allocator:
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('jemalloc'))" || [ "$$(id -u)" != 0 ] || \
	 (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc2)

install: $(BIN)/.installed

run: install allocator
	$(BIN)/poems-kg serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(ENGINE)/node_modules/.installed $(CLIENTS)/node_modules/.installed $(VALIDATORS) browser allocator
	$(BIN)/python -m pytest

# Optional: every API test also on Virtuoso open source (Debian package; needs root to install, as on the CI machine).
test-virtuoso: install
	@command -v virtuoso-t >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource-7-bin)
	POEMS_KG_TEST_VIRTUOSO=1 $(BIN)/python -m pytest tests -k virtuoso

# Regenerate the import slices and MONDO's exact mappings from the pinned releases (ontology/imports/releases.yaml).
imports: install
	$(BIN)/poems-kg refresh-imports --kg-dir bench/hpoa-all

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-kgx .venv-trapi build .pytest_cache .mypy_cache .ruff_cache
