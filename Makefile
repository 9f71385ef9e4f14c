# Switchboard — top-level entry points. Every target installs what is missing first.
BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= 2
PREFIX     ?= /usr/local
CONFIG     ?= config/demo.yaml

CMAKE_LAUNCHER := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all deps configure build test demo install docs clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_LAUNCHER) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	@$(BUILD_DIR)/bin/switchboard serve -c $(CONFIG)

install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# Regenerates docs/config-reference.md from the factories' declared keys.
docs: build
	@cmake --build $(BUILD_DIR) --target config-reference

clean:
	@rm -rf $(BUILD_DIR)
