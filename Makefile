# thinx: the one command to test everything is `make test`.
# It installs what is missing on Debian (apt and npm packages), checks that
# generated code and formatting are current, then runs every test.

GO       ?= go
BIN      ?= thinx
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X thinx/app/cli.Version=$(VERSION)
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := mosquitto mosquitto-clients chromium

.PHONY: all build run test deps check unit e2e bench vendor-htmx generate clean

all: build

## build: a static, stripped binary in ./thinx
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

## run: start the server on ./thinx-data
run:
	$(GO) run .

## test: install test dependencies, check generated code and style, run all tests
test: deps check unit e2e

## deps: Debian packages the tests drive (MQTT clients and broker, Chromium)
deps:
	@missing=""; \
	for c in mosquitto mosquitto_pub chromium; do command -v $$c >/dev/null 2>&1 || missing=yes; done; \
	if [ -n "$$missing" ]; then \
		echo "installing $(APT_PKGS)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PKGS); \
	fi

## check: templ output current, gofmt clean, go vet clean
check:
	$(GO) tool templ generate -path views >/dev/null
	@git diff --exit-code --stat -- views || { echo "generated templ code differs from the .templ files: run 'go tool templ generate' and commit"; exit 1; }
	@test -z "$$(git ls-files -o --exclude-standard -- 'views/*_templ.go')" || { echo "untracked generated templ files: commit them"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt would change: $$out"; exit 1; }
	$(GO) vet ./...

## unit: every Go test (real SQLite, sockets, MQTT clients, processes)
unit:
	$(GO) test -count=1 ./...

## e2e: the browser tests in headless Chromium
e2e:
	bash app/web/e2e/run.sh

## bench: the benchmarks, side by side with their baselines
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## vendor-htmx: refresh assets/vendor from npm (only when bumping a version)
vendor-htmx:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@2.0.11 htmx-ext-sse@2.2.4 >/dev/null && \
	for f in *.tgz; do mkdir -p x && tar xzf $$f -C x && mv x/package $${f%.tgz}; rm -rf x; done && \
	cp htmx.org-2.0.11/dist/htmx.min.js $(CURDIR)/assets/vendor/htmx.min.js && \
	cp htmx-ext-sse-2.2.4/dist/sse.min.js $(CURDIR)/assets/vendor/htmx-ext-sse.min.js && \
	cd $(CURDIR)/assets/vendor && { echo "# name version file sha256 (bumped with: make vendor-htmx)"; \
	echo "htmx.org 2.0.11 htmx.min.js $$(sha256sum htmx.min.js | cut -d' ' -f1)"; \
	echo "htmx-ext-sse 2.2.4 htmx-ext-sse.min.js $$(sha256sum htmx-ext-sse.min.js | cut -d' ' -f1)"; } > VERSIONS

## generate: regenerate templ code after editing views/*.templ
generate:
	$(GO) tool templ generate -path views

clean:
	rm -f $(BIN)
