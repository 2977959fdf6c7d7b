#!/bin/bash
# One command from a fresh clone to the whole test suite: install what the
# tests need, build with warnings as errors, run every test, then again under
# AddressSanitizer and UndefinedBehaviorSanitizer, lint the man pages, run
# each fuzz target briefly and check that a release tarball builds and passes.
# Ends with the totals as "N passed, N failed".
#   FUZZ_SECONDS=N   seconds per fuzz target (default 10; 0 skips)
#   SKIP_DISTCHECK=1 skip `make distcheck`
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
scripts/deps.sh test || exit 1
jobs=$(nproc)
status=0

step() { printf '\n=== %s\n' "$*"; }

[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null 2>&1 || { echo "autogen failed"; exit 1; }

build_and_check() {	# dir, configure flags...
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --quiet --enable-werror "$@" &&
	    make -j"$jobs" --quiet >/dev/null &&
	    make -j"$jobs" check) || status=1
}

step "build and test"
build_and_check build-ci
step "build and test under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
build_and_check build-asan \
    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

step "man pages"
for m in man/*.[0-9]; do
	if mandoc -Tlint -W warning "$m"; then echo "ok $m"; else echo "FAIL $m"; status=1; fi
done

if [ "${FUZZ_SECONDS:-10}" != 0 ]; then
	step "fuzz targets (${FUZZ_SECONDS:-10}s each)"
	fuzz/run.sh "${FUZZ_SECONDS:-10}" || status=1
fi

if [ -z "${SKIP_DISTCHECK:-}" ]; then
	step "make distcheck"
	(cd build-ci && make -j"$jobs" distcheck >distcheck.out 2>&1) || { tail -40 build-ci/distcheck.out; status=1; }
	grep -E '^=+$|archives ready|\.tar\.gz' build-ci/distcheck.out | tail -3
fi

step "totals"
python3 scripts/totals.py build-ci build-asan fuzz/out || status=1
exit $status
