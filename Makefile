# vaxcert developer targets. "make help" lists them.

SHELL     := /bin/bash
GO        ?= go
BIN       := bin/vaxcert
DATA      := data
KEYS      := $(DATA)/keys
FUZZTIME  ?= 20s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -X main.version=$(VERSION)
# Pinned: staticcheck v0.8.2 (2026.1.x) supports Go 1.26.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests that run the EU test vectors (../shared/testdata/dgc).
CONFORMANCE_RUN ?= Conformance|Vector

# The WebAssembly verifier the scan page loads (internal/scanpage embeds it).
WASM      := internal/scanpage/assets/verifier.wasm.gz
WASM_EXEC := internal/scanpage/assets/wasm_exec.js
# Every non-standard Go and embedded file the wasm is built from.
WASM_SRC  := $(shell GOOS=js GOARCH=wasm $(GO) list -deps -f '{{if not .Standard}}{{range .GoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range .EmbedFiles}}{{$$.Dir}}/{{.}} {{end}}{{end}}' ./cmd/vaxcert-wasm 2>/dev/null) go.mod go.sum

.PHONY: help run run-verifier verifier-perf demo build test crash scaleout surge chaos race conformance fuzz bench ratios perf lint clean wasm browser rules mobile

help:
	@echo "make run          start the issuer service on 127.0.0.1:8080 (SQLite in ./data, demo keys and tokens)"
	@echo "make run-verifier start the venue verifier on 127.0.0.1:8090, syncing from make run's issuer every 10s"
	@echo "make verifier-perf venue verifier load: services and the bare net/http floor vs the library in rounds, revocation lookup, list loading (bounded, loopback)"
	@echo "make demo         CLI only: keys, issue examples/record.json, QR PNG, verify"
	@echo "make test         go test ./... (fast, deterministic; vectors skip when absent)"
	@echo "make crash        crash-safety tests: SIGKILL the server mid upload and mid issuance (minutes)"
	@echo "make scaleout     issuance on several servers sharing PostgreSQL, one SIGKILLed; rates with 1, 2, 4 workers"
	@echo "make surge        citizen reads ramped to 10x the base clients on both engines: refusals, errors, memory"
	@echo "make chaos        site-sync chaos test: concurrent site clients, SIGKILLs, readers (CHAOS_PERSONS=5000)"
	@echo "make race         go test -race ./..."
	@echo "make conformance  the EU test-vector tests; fails if the vectors are absent"
	@echo "make fuzz         every fuzz target for FUZZTIME (default 20s) each"
	@echo "make bench        benchmarks"
	@echo "make ratios       verify/issue against bare ECDSA/RSA-PSS: the README's ratios (RATIOS_ARGS="-rounds 9 -target 2s")"
	@echo "make rules        vaxcert rules test: the VN rule set (verifier/rules/sets) and the real EU/DE/AT/CZ rule sets in ../shared"
	@echo "make perf         the service: ingest, issuance, memory, citizen load (PERF_ARGS="--db postgres://... --wrk")"
	@echo "make lint         go vet, gofmt, staticcheck"
	@echo "make build        $(BIN) (runs make wasm first: the scan page embeds the verifier)"
	@echo "make wasm         the WebAssembly verifier of the scan page: $(WASM) (+ wasm_exec.js)"
	@echo "make mobile       gobind check of verifier/mobile, Java/ObjC sources in bin/mobile; .aar/.xcframework where an SDK is present"
	@echo "make browser      headless-Chromium tests of the scan page (needs Debian's chromium; screenshots in bin/screenshots)"
	@echo "make clean        remove $(BIN) and the demo outputs (keeps $(KEYS))"

# run: the issuer service on the embedded SQLite store, with demo keys, a
# development identity provider and demo staff and citizen tokens, printed
# at start with curl examples.
run: build
	./$(BIN) serve --dev --data $(DATA) --addr 127.0.0.1:8080 --rules verifier/rules/sets

# run-verifier: the standalone venue verifier against make run's issuer:
# it pins the issuer's CSCA, syncs the signed lists (and Viet Nam's rule
# set, which make run publishes at /v1/rule-set) every 10 s into
# ./verifier-data and answers on 127.0.0.1:8090 (also with the issuer down).
run-verifier: build
	./$(BIN) serve-verifier --issuer http://127.0.0.1:8080 --root $(KEYS)/csca.pem \
	  --sync-interval 10s --data verifier-data --addr 127.0.0.1:8090

# verifier-perf: bounded loopback load of the venue verifier, of the
# issuer's POST /v1/verify and of the floor (bare net/http + the same check),
# in rounds interleaved with the library (ratios of throughput and of CPU per
# answer, clients in their own process), revocation lookup cost, and the time
# and memory to load a 5,000-DSC trust list and a 1,000,000-hash revocation
# list. About 21 phases of 3 s, then the lists.
verifier-perf:
	$(GO) run ./internal/tools/verifierload $(VERIFIER_PERF_ARGS)

# demo: create demo keys once, issue the example record, write the QR PNG,
# and verify the HC1 text against the demo keys.
demo: build
	@mkdir -p $(DATA)
	@if [ -f $(KEYS)/dsc.pem ]; then echo "using existing keys in $(KEYS)"; \
	 else ./$(BIN) keys init --dir $(KEYS) --country VN; fi
	./$(BIN) issue --keys $(KEYS) --record examples/record.json --png $(DATA)/demo-qr.png > $(DATA)/demo-hc1.txt
	@echo "HC1 text ($(DATA)/demo-hc1.txt):"
	@cat $(DATA)/demo-hc1.txt
	@echo "QR code: $(DATA)/demo-qr.png"
	@echo
	./$(BIN) verify --trust-dir $(KEYS) < $(DATA)/demo-hc1.txt

# rules: the rule author's check, on the repo's VN rule set and, when
# present, the real rule sets in ../shared/testdata/rules.
rules:
	$(GO) run ./cmd/vaxcert rules test verifier/rules/sets
	@if [ -d ../shared/testdata/rules ]; then $(GO) run ./cmd/vaxcert rules test ../shared/testdata/rules; \
	 else echo "../shared/testdata/rules absent: real rule sets skipped"; fi

build: wasm
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vaxcert

wasm: $(WASM)

$(WASM): $(WASM_SRC)
	@mkdir -p bin
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o bin/verifier.wasm ./cmd/vaxcert-wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WASM_EXEC)
	gzip -9 -n -c bin/verifier.wasm > $@.tmp && mv $@.tmp $@
	@echo "verifier.wasm: $$(wc -c < bin/verifier.wasm) bytes, $$(wc -c < $@) gzip"

# mobile: check that gobind binds every exported name of the gomobile
# facade, write the Java and Objective-C sources to bin/mobile/gobind, and
# build the Android library / iOS framework where their SDKs are present.
mobile:
	$(GO) test -tags mobile -count=1 -run Gobind ./verifier/mobile/
	@rm -rf bin/mobile && mkdir -p bin/mobile
	$(GO) tool gobind -lang=java,objc -outdir bin/mobile/gobind ./verifier/mobile
	@GOBIN=$(CURDIR)/bin $(GO) install golang.org/x/mobile/cmd/gomobile golang.org/x/mobile/cmd/gobind
	@built=0; \
	if [ -n "$$ANDROID_HOME" ] && [ -n "$$ANDROID_NDK_HOME$$(ls -d $$ANDROID_HOME/ndk/* 2>/dev/null | head -n 1)" ] && command -v javac >/dev/null; then \
	  PATH=$(CURDIR)/bin:$$PATH ./bin/gomobile bind -target=android -androidapi 21 -o bin/mobile/vaxcert.aar ./verifier/mobile && built=1; \
	else echo "Android: not built: needs ANDROID_HOME with an NDK (sdkmanager 'ndk;26.3.11579264') and a JDK (javac)"; fi; \
	if [ "$$(uname)" = Darwin ] && command -v xcodebuild >/dev/null; then \
	  PATH=$(CURDIR)/bin:$$PATH ./bin/gomobile bind -target=ios -o bin/mobile/Vaxcert.xcframework ./verifier/mobile && built=1; \
	else echo "iOS: not built: needs macOS with Xcode (xcodebuild)"; fi; \
	echo "bindings: bin/mobile/gobind (Java and Objective-C sources)$$( [ $$built = 1 ] && echo ', and the libraries in bin/mobile')"

# browser: the scan page in headless Chromium (Debian package chromium).
# Screenshots of every state go to bin/screenshots.
browser: wasm
	$(GO) test -tags browser -count=1 -v -timeout 10m ./internal/scanpage/browsertest/

test:
	$(GO) test ./...

# crash: the crash-safety tests (internal/crashtest, build tag "crash"): they
# build vaxcert, kill "vaxcert serve" in the middle of a 100,000-record
# upload and of a batch issuance, restart it and check exactly-once. On
# PostgreSQL too when VAXCERT_TEST_PG is set.
crash:
	$(GO) test -tags crash -count=1 -v -timeout 30m ./internal/crashtest

# scaleout: several "vaxcert serve" processes share one batch issuance on
# PostgreSQL (VAXCERT_TEST_PG required); one is SIGKILLed mid-job, every
# person must end with exactly one certificate; then 1, 2 and 4 workers
# issue the same data set and the rates are logged (SCALEOUT lines).
# VAXCERT_SCALEOUT_PERSONS sets the size (default 20,000).
scaleout:
	$(GO) test -tags 'crash scaleout' -run TestScaleOut -count=1 -v -timeout 30m ./internal/crashtest

# surge: the citizen surge on SQLite and PostgreSQL (VAXCERT_TEST_PG
# required): reads ramped to 10x the base clients; checks 0 errors,
# Retry-After on every 429/503, bounded memory, and logs latencies. For the
# full measurement: make perf PERF_ARGS="--surge [--db postgres://...]".
surge:
	$(GO) test -tags surge -run TestSurge -count=1 -v -timeout 10m ./cmd/vaxbench

# chaos: the site-sync chaos test (internal/chaostest, build tag "chaos"):
# four sites upload at once with "vaxcert upload" (re-sent files, shots from
# two sites, late doses, drafts, amendments, contradictions, disputed
# identities) while the server is SIGKILLed 5 times and citizens read; every
# person must end right and no reader may see a dose count go down. On
# PostgreSQL too when VAXCERT_TEST_PG is set. CHAOS_PERSONS sets the size.
CHAOS_PERSONS ?= 5000
chaos:
	VAXCERT_CHAOS_PERSONS=$(CHAOS_PERSONS) $(GO) test -tags chaos -count=1 -v -timeout 30m ./internal/chaostest

race:
	$(GO) test -race ./...

conformance:
	VAXCERT_REQUIRE_VECTORS=1 $(GO) test -count=1 -run '$(CONFORMANCE_RUN)' ./...

# Runs each fuzz target (found with go test -list) for FUZZTIME. A run that
# ends in the engine's own "context deadline exceeded" with no failing input
# written (a known go test -fuzz flake at the end of -fuzztime) runs once more;
# a real failure (an input written to testdata/fuzz) fails at once.
fuzz:
	@set -euo pipefail; $(GO) test -list '^Fuzz' ./... | \
	  awk '/^Fuzz/ { f[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, f[i]; n = 0 }' | \
	  while read -r pkg target; do \
	    echo "== $$pkg $$target ($(FUZZTIME))"; \
	    out=$$(mktemp); \
	    if ! $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$pkg" 2>&1 | tee "$$out"; then \
	      if grep -q 'context deadline exceeded' "$$out" && ! grep -q 'Failing input written' "$$out"; then \
	        echo "== $$target: the fuzzing engine hit its own deadline with no failing input (a Go toolchain flake); running it once more"; \
	        $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$pkg" || { rm -f "$$out"; exit 1; }; \
	      else rm -f "$$out"; exit 1; fi; \
	    fi; \
	    rm -f "$$out"; \
	  done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# ratios: RATIOS_ARGS="-rounds 9 -target 2s" for a longer run.
ratios:
	$(GO) run ./internal/tools/benchratio $(RATIOS_ARGS)

perf:
	$(GO) run ./cmd/vaxbench $(PERF_ARGS)

lint:
	$(GO) vet ./...
	$(GO) vet -tags 'crash scaleout' ./internal/crashtest
	$(GO) vet -tags surge ./cmd/vaxbench
	$(GO) vet -tags chaos ./internal/chaostest
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin $(DATA)/demo-qr.png $(DATA)/demo-hc1.txt
