# caddy-endpoint: `make run` starts Caddy with the demo config, `make test`
# runs every suite. Both install what they need first.

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/caddy
APT_PKGS   := libxml2-dev pkg-config gcc
UNIT_PKGS  := . ./execmode/ ./pipeline/ ./openapi/... ./registry/ ./snippet/ ./schema/ ./env/ ./admin/ ./caddyfile/ ./command/ ./ui/
UI_WEB     := ui/web
XCADDY     := $(shell $(GO) env GOPATH)/bin/xcaddy

.PHONY: all deps build run test unit cgo-free integration xcaddy-check lint bench bench-scale clean ui ui-check node-deps browser-deps

all: build

# deps installs the system packages the cgo build needs (libxml2 for XSD).
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is required (https://go.dev/dl/)"; exit 1; }

# build makes the libxml2 (cgo) binary; CGO_ENABLED=0 gives the helium one.
build: deps
	CGO_ENABLED=$${CGO_ENABLED:-1} $(GO) build -o $(BIN) ./cmd/caddy

# run starts Caddy on the demo config: endpoints on 127.0.0.1:8080, admin API
# on localhost:2019, data (drafts, revisions, store) under ./.data.
run: build
	cd demo && ../$(BIN) run --config Caddyfile --adapter caddyfile

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

# The schema tests read the official JSON-Schema-Test-Suite from
# ../shared/testdata beside the project. A clone made elsewhere from a
# local checkout (git clone . /tmp/x) finds it beside the checkout it was
# cloned from; JSON_SCHEMA_SUITE, when set, names it outright.
SUITE_DIR := shared/testdata/JSON-Schema-Test-Suite/draft2020-12
ORIGIN := $(shell git config --get remote.origin.url 2>/dev/null)
ifeq ($(JSON_SCHEMA_SUITE),)
ifeq ($(wildcard ../$(SUITE_DIR)),)
ifneq ($(wildcard $(ORIGIN)/../$(SUITE_DIR)),)
export JSON_SCHEMA_SUITE := $(abspath $(ORIGIN)/../$(SUITE_DIR))
endif
endif
endif

unit: deps
	$(GO) test -race -count=1 $(UNIT_PKGS)

# cgo-free runs the schema corpus and the integration suite on the pure-Go
# XSD backend (helium), as a plain `CGO_ENABLED=0 xcaddy build` would ship.
cgo-free: deps
	CGO_ENABLED=0 $(GO) test -count=1 ./schema/
	CGO_ENABLED=0 $(GO) test -p 1 -count=1 -run 'TestSchemas|TestSchemaHardening' ./tests/

# node-deps installs Node and npm, which only `make ui` and `make ui-check`
# need: the built UI is committed, so a plain `go build` or xcaddy needs no Node.
node-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "installing: nodejs npm"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; \
	fi

# ui rebuilds ui/assets (the bundle, the static files, the license notices
# and BUILD.sha256) from ui/web/src and the pinned packages of the lockfile.
ui: node-deps
	cd $(UI_WEB) && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

# ui-check builds the UI again into a temporary directory and fails unless
# it is byte for byte the committed ui/assets (a reproducible build of the
# committed sources).
ui-check: node-deps
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cd $(UI_WEB) && npm ci --no-audit --no-fund --loglevel=error && node build.mjs "$$tmp/assets" && \
	cd ../.. && diff -r ui/assets "$$tmp/assets" && echo "ui-check: the committed ui/assets are the build of ui/web"

# browser-deps installs Chromium for the browser test of the UI.
browser-deps:
	@command -v chromium >/dev/null || { \
		echo "installing: chromium"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

integration: deps browser-deps
	ENDPOINT_REQUIRE_BROWSER=1 $(GO) test -p 1 -count=1 -timeout 20m ./tests/

$(XCADDY):
	$(GO) install github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5

xcaddy-check: deps $(XCADDY)
	XCADDY=$(XCADDY) bash scripts/xcaddy-check.sh

# test runs every phase in turn, saying when each starts and how long it
# took, and stops at the first that fails.
TEST_PHASES := lint unit ui-check cgo-free integration xcaddy-check
test:
	@total=$$(date +%s); for p in $(TEST_PHASES); do \
		echo "==> make $$p: starting at $$(date -u +%H:%M:%S) UTC"; s=$$(date +%s); \
		if ! $(MAKE) --no-print-directory $$p; then \
			echo "==> make $$p: FAILED after $$(( $$(date +%s) - s ))s"; exit 1; \
		fi; \
		echo "==> make $$p: passed in $$(( $$(date +%s) - s ))s"; \
	done; \
	echo "make test: all suites passed in $$(( $$(date +%s) - total ))s"

bench: build
	bash bench/run.sh

# bench-scale times admin calls and start at 1,000, 10,000 and 100,000
# endpoints through a real Caddy (SIZES=1000,10000 for a shorter run).
SIZES ?= 1000,10000,100000
bench-scale: build
	$(GO) run ./bench/scale -caddy $(BIN) -sizes $(SIZES)

clean:
	rm -rf bin demo/.data
