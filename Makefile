# hull: `make demo` and `make test` are the two commands (README.md).
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX ?= /usr/local
PYTEST = /usr/bin/python3 -m pytest

.PHONY: all deps build demo test unit integration test-cgroup-v2 test-clients fuzz bench install lint format clean

all: build

deps:
	./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	ninja -C $(BUILD)

demo: build
	$(BUILD)/hull tour

# Every test: unit, integration (real containers as root), the cgroup v2 suite in a VM, and
# the engines (podman, containerd, docker, buildah) driving hull.
test: build
	./tests/run-all $(BUILD)

unit: build
	$(BUILD)/hull-unit-tests

integration: build
	HULL_BUILD=$(abspath $(BUILD)) $(PYTEST) -q tests/integration

test-cgroup-v2: build
	./tests/vm/run-suite $(BUILD)

test-clients: build
	HULL_BUILD=$(abspath $(BUILD)) $(PYTEST) -q tests/clients

# libFuzzer targets (tests/fuzz), clang + ASan + UBSan in build-fuzz/, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 300
fuzz: deps
	./scripts/fuzz --seconds $(FUZZ_SECONDS)

bench: build
	./bench/lifecycle --build $(BUILD)

install: build
	install -D -m 0755 $(BUILD)/hull $(DESTDIR)$(PREFIX)/bin/hull
	ln -sf hull $(DESTDIR)$(PREFIX)/bin/hull-oci

lint:
	clang-format --dry-run --Werror $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/unit/*.cpp')

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/unit/*.cpp')

clean:
	rm -rf $(BUILD)
