# coring - the two commands of the quick start, and a few more.
#
#   make demo    install what is missing (Debian packages), build, run the demo
#   make test    the same set-up, then the whole test suite: a plain build
#                (debugoptimized) on the default and on narrowed rings, on
#                the epoll backend (also ASan and TSan), and where io_uring
#                is refused by a seccomp filter, once with ENOSYS and once
#                with EPERM (test-noring); a debug and a release build, an
#                ASan+UBSan build, and a TSan build for the threaded parts
#   make test-buildtypes   the suite under every meson buildtype
#   make bench   build and run the benchmarks (bench/)
#   make fuzz    build the libFuzzer targets (fuzz/, clang) and run each for
#                FUZZ_TIME seconds (60)
#
# Builds go to build/ (plain), build-TYPE/ (other buildtypes), build-asan/
# and build-tsan/.

PKGS := gcc make meson ninja-build pkg-config liburing-dev libcmocka-dev \
        gcc-aarch64-linux-gnu fio libuv1-dev valgrind gnuplot-nox \
        apache2-utils nghttp2-client wrk
MESON_SETUP := meson setup -Dwerror=true -Dtests=enabled
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test test-plain test-rings test-epoll test-noring \
        test-asan test-tsan bench clean \
        test-debug test-release test-buildtypes fuzz

all: build

deps:
	@missing=""; \
	for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update >/dev/null && \
	    $(SUDO) apt-get install -y --no-install-recommends $$missing >/dev/null; } || \
	  { echo "could not install:$$missing" >&2; exit 1; }; \
	fi

build/build.ninja:
	$(MESON_SETUP) build

build: deps build/build.ninja
	ninja -C build

demo: build
	@echo "== seed 000: sequential awaits against concurrent tasks"
	./build/examples/gather_timing
	@echo
	@echo "== one server loop against many (build/bench/netscale, docs/bench.md)"
	./build/bench/netscale --duration 1 --warmup 0.25 --table-only
	@echo
	@echo "== a file read with many coroutines in flight"
	./build/examples/demo

test-plain: build
	meson test -C build --print-errorlogs --num-processes 2

# The plain build's suite again on narrowed rings (COR_RING, docs/design.md).
test-rings: build
	for s in ringnodefer ringbasic ringoverflow; do \
	  echo "== ring configuration: $$s"; \
	  meson test -C build --setup $$s --print-errorlogs --num-processes 2 --no-suite slow || exit 1; \
	done

# The plain build's suite on the epoll backend (COR_BACKEND=epoll).
test-epoll: build
	meson test -C build --setup epoll --print-errorlogs --num-processes 2 --no-suite slow

# The plain build's suite where io_uring is refused for real: every test
# under tests/noring, a seccomp filter failing io_uring_setup, _enter and
# _register with ENOSYS (a kernel without io_uring), then with EPERM
# (Docker's default profile); automatic runtimes fall back to epoll.
test-noring: build
	for s in noringenosys noringeperm; do \
	  echo "== io_uring refused: $$s"; \
	  meson test -C build --setup $$s --print-errorlogs --num-processes 2 --no-suite slow || exit 1; \
	done

test-asan: deps
	[ -f build-asan/build.ninja ] || $(MESON_SETUP) -Db_sanitize=address,undefined -Db_lundef=false build-asan
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4 --no-suite slow
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C build-asan --setup epoll --print-errorlogs --num-processes 2 --timeout-multiplier 4 --no-suite slow

test-tsan: deps
	[ -f build-tsan/build.ninja ] || $(MESON_SETUP) -Db_sanitize=thread -Db_lundef=false build-tsan
	ninja -C build-tsan
	TSAN_OPTIONS=halt_on_error=1 \
	  meson test -C build-tsan --print-errorlogs --num-processes 2 --timeout-multiplier 4 --suite threads
	TSAN_OPTIONS=halt_on_error=1 \
	  meson test -C build-tsan --setup epoll --print-errorlogs --num-processes 2 --timeout-multiplier 4 --suite threads

# One build per meson buildtype (debug -O0, release -O3, minsize -Os, plain
# with no flags): the code must not lean on what -O2 happens to inline.
test-debug: test-buildtype-debug
test-release: test-buildtype-release
test-buildtype-%: deps
	[ -f build-$*/build.ninja ] || $(MESON_SETUP) -Dbuildtype=$* build-$*
	ninja -C build-$*
	meson test -C build-$* --print-errorlogs --num-processes 2 --timeout-multiplier 2
test-buildtypes: test-plain test-buildtype-debug test-buildtype-release \
                 test-buildtype-minsize test-buildtype-plain

test: test-plain test-rings test-epoll test-noring test-debug test-release test-asan test-tsan

# clang's libFuzzer runtime is only recommended by clang: named here, and
# installed only for this target.
FUZZ_TIME ?= 60
fuzz: PKGS += clang libclang-rt-14-dev
fuzz: deps
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup -Dwerror=true \
	  -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false build-fuzz
	ninja -C build-fuzz fuzz/reader_fuzz
	mkdir -p build-fuzz/corpus-reader
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ./build-fuzz/fuzz/reader_fuzz -max_total_time=$(FUZZ_TIME) -max_len=512 -len_control=10 \
	  -print_final_stats=1 build-fuzz/corpus-reader

bench: build
	./build/bench/micro
	./build/bench/scaling
	./build/bench/stacks
	./build/bench/netscale

clean:
	rm -rf build build-*
