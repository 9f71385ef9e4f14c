# Switchboard — top-level entry points. Every target installs what is missing first.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
PREFIX     ?= /usr/local
CONFIG     ?= config/demo.yaml

CMAKE_LAUNCHER := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all deps configure build test demo install docs fuzz clean bench-build bench bench-quick

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_LAUNCHER) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# First run: var/ with a generated demo database (1,000 customers, 3 projects, 20 operators) and three agents.
demo: build
	@mkdir -p var/log
	@if [ ! -f var/switchboard.db ]; then \
	  $(BUILD_DIR)/bin/switchboard rules generate --customers 1000 --projects 100,200,300 --operators 101-117 \
	    --seed 1 -o var/demo-rules.csv && \
	  $(BUILD_DIR)/bin/switchboard rules import var/demo-rules.csv -c $(CONFIG); fi
	@if ! $(BUILD_DIR)/bin/switchboard agents list -c $(CONFIG) --json | grep -q '"admin"'; then \
	  echo anna  | $(BUILD_DIR)/bin/switchboard agents add anna  -c $(CONFIG) --extension 101 --call-module --central && \
	  echo petr  | $(BUILD_DIR)/bin/switchboard agents add petr  -c $(CONFIG) --extension 107 --call-module --group 400 && \
	  echo admin | $(BUILD_DIR)/bin/switchboard agents add admin -c $(CONFIG) --extension 120 --call-module \
	    --role administrator --central; fi
	@echo "web console: open http://127.0.0.1:8080 and log in as anna/anna (agent, ext. 101), petr/petr (SA group 400," \
	  "ext. 107) or admin/admin (administrator, ext. 120)"
	@$(BUILD_DIR)/bin/switchboard serve -c $(CONFIG) --show-calls

install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# Regenerates docs/config-reference.md from the factories' declared keys.
docs: build
	@cmake --build $(BUILD_DIR) --target config-reference

# libFuzzer run of the CSTA frame + XML decoder (Clang, ASan + UBSan); FUZZ_SECONDS=0 runs until stopped.
FUZZ_SECONDS ?= 300
fuzz: deps
	@mkdir -p $(BUILD_DIR)
	@bash tests/fuzz/fuzz_bounded.sh $(CURDIR) $(CURDIR)/$(BUILD_DIR)/fuzz $(FUZZ_SECONDS)

clean:
	@rm -rf $(BUILD_DIR)

# Benchmarks (bench/run.sh) on a Release build in $(BENCH_DIR). `bench`: every figure at full scale (about
# 10 minutes), bench/results/latest.json and the summary at the top of bench/RESULTS.md. `bench-quick`: the
# same figures at reduced scale in under a minute after the build; prints the JSON (bench/results/quick.json).
# Only what the benchmarks run is built (not the tests); a target the tree does not define is skipped.
BENCH_DIR ?= build-release
BENCH_TARGETS ?= switchboard switchboard-pbxsim switchboard_plugins engine_bench calllog_append_bench \
  csta_decode_bench index_bench

bench-build: deps
	@cmake -S . -B $(BENCH_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_LAUNCHER) >/dev/null
	@cmake --build $(BENCH_DIR) -j $(JOBS) --target \
	  $$(for t in $(BENCH_TARGETS); do ninja -C $(BENCH_DIR) -t query $$t >/dev/null 2>&1 && echo $$t; done)

bench: bench-build
	@bash bench/run.sh $(BENCH_DIR) full

bench-quick: bench-build
	@bash bench/run.sh $(BENCH_DIR) quick
