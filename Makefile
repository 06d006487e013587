# The two commands of the README, and a few more for developers.
#   make demo   installs dependencies (Debian packages), builds, runs the default scenario
#   make test   builds and runs every test through ctest (with the conformance suite's quick
#               subset, ctest label `conformance`)
#   make conformance  the full conformance suite: real ZooKeeper, MariaDB and Redis against the
#               model (docs/conformance.md, which it rewrites); exits 1 if any row fails
BUILD ?= build
JOBS ?= $(shell nproc)
DEFAULT_SCENARIO ?= scenarios/agent-partition.yaml

.PHONY: demo test deps build sanitize bench clean conformance fuzz

demo: deps build
	$(BUILD)/cli/stampede run $(DEFAULT_SCENARIO)

deps:
	bash scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Real servers (child processes on 127.0.0.1, from the Debian packages of `make deps`) against
# the model; takes about 6 minutes on 2 cores. Only the stampede binary is built for it.
conformance:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS) --target stampede
	/usr/bin/python3 conformance/run.py --stampede $(BUILD)/cli/stampede --write-docs docs/conformance.md

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTAMPEDE_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

# The libFuzzer harnesses of fuzz/ under ASan+UBSan (clang, in build-fuzz), each for
# FUZZ_SECONDS; docs/fuzzing.md says what each reads and how a finding becomes a test.
FUZZ_SECONDS ?= 60
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS) build-fuzz

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
