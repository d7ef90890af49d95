# smexop - top-level driver for Meson + Ninja.
#
#   make run     install what is missing, build, start the gateway demo (etc/demo.yaml)
#   make test    install, build, run every test (unit, conformance, integration,
#                fuzz smoke runs, unit tests again under ASan+UBSan)
#   make deps | build | asan | fuzz | bench | format | format-check | clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test unit asan fuzz bench format format-check clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD)

test: deps
	@scripts/test.sh

unit: build
	@meson test -C $(BUILD) --suite unit --print-errorlogs

asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
	@ninja -C $(ASAN_BUILD)
	@UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --suite unit --suite conformance --print-errorlogs

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@for b in bench/*/run.sh; do echo "== $$b"; $$b $(BUILD) || exit 1; done

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
