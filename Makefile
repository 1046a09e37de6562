# hull: `make demo` and `make test` are the two commands (README.md).
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
# Warnings are errors in the developer and CI build; a packager's plain cmake leaves them warnings.
WERROR ?= ON
PREFIX ?= /usr/local
PYTEST = /usr/bin/python3 -m pytest
# ccache when it is there (CMake reads the launcher from the environment at configure time).
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
export CMAKE_C_COMPILER_LAUNCHER ?= ccache
export CMAKE_CXX_COMPILER_LAUNCHER ?= ccache
# Paths under the checkout hash as relative ones, so a checkout elsewhere (CI's clean one, a
# worktree) shares the cache with every other checkout of the same sources.
export CCACHE_BASEDIR ?= $(CURDIR)
endif

.PHONY: all deps configure build demo test unit integration test-cgroup-v2 test-clients bench \
	fuzz sanitize release install lint format clean

all: build

# The build set only: compiler, cmake, libraries. As a normal user this only checks.
deps:
	./scripts/install-deps build

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DHULL_WERROR=$(WERROR) >/dev/null

build: configure
	ninja -C $(BUILD)

# Only what the tour runs: the hull binary (no unit tests), and ps/busybox for its containers.
demo: configure
	./scripts/install-deps demo
	ninja -C $(BUILD) hull
	$(BUILD)/hull tour

# Every test: unit, integration (real containers as root), the cgroup v2 suite in a VM, and
# the engines (podman, containerd, docker, buildah) driving hull. Installs the test world.
test:
	./scripts/install-deps test
	$(MAKE) build
	./tests/run-all $(BUILD)

unit: build
	$(BUILD)/hull-unit-tests

integration: build
	HULL_BUILD=$(abspath $(BUILD)) $(PYTEST) -q -n 2 --dist loadgroup tests/integration

test-cgroup-v2: build
	./tests/vm/run-suite $(BUILD)

test-clients: build
	HULL_BUILD=$(abspath $(BUILD)) $(PYTEST) -q tests/clients

# libFuzzer targets (tests/fuzz), clang + ASan + UBSan in build-fuzz/, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 300
fuzz:
	./scripts/install-deps test
	./scripts/fuzz --seconds $(FUZZ_SECONDS)

# hull with ASan+UBSan in $(BUILD)-sanitize, and the integration tests that drive the OCI
# engine run against it (scripts/sanitize says which, and why those).
sanitize:
	./scripts/install-deps test
	./scripts/sanitize $(BUILD)-sanitize

bench: build
	./bench/lifecycle --build $(BUILD)

# A packager's build: -O3, warnings not errors (CI sets WERROR=ON), no unit tests.
release:
	./scripts/install-deps build
	cmake -S . -B $(BUILD)-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DHULL_WERROR=$(if $(filter command line environment,$(origin WERROR)),$(WERROR),OFF) \
		-DHULL_UNIT_TESTS=OFF >/dev/null
	ninja -C $(BUILD)-release hull

# The hull binary stripped (the build tree keeps the debug information), and the hull-oci link.
install: configure
	ninja -C $(BUILD) hull
	cmake --install $(BUILD) --strip --prefix $(PREFIX)

# Formatting (.clang-format); files not yet formatted are listed in .clang-format-pending.
lint:
	./scripts/install-deps lint
	./scripts/lint

# Formats the files you changed since main (and takes them off .clang-format-pending).
format:
	@files=$$(git diff --name-only --diff-filter=AMR main -- '*.c' '*.cpp' '*.h'); \
	[ -z "$$files" ] || { clang-format -i $$files; \
	  for f in $$files; do sed -i "\\|^$$f\$$|d" .clang-format-pending; done; }

clean:
	rm -rf $(BUILD) $(BUILD)-release $(BUILD)-sanitize
