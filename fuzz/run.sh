#!/bin/bash
# Build every libFuzzer target (fuzz/fuzz_*.c) against a clang build of
# libmonitord.a with ASan+UBSan, and run each for N seconds (default 10)
# from its seed corpus fuzz/corpus/NAME/.  New inputs go to a scratch
# corpus, never into the source tree.  A crash fails the run and leaves the
# input in fuzz/out/.  Results are written as automake .trs files in
# fuzz/out/ so scripts/totals.py counts them.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
secs=${1:-10}
out=$top/fuzz/out
bld=$top/build-fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
mkdir -p "$out" "$bld"
rm -f "$out"/*.trs

if ! command -v clang >/dev/null; then
	echo "fuzz: clang is not installed" >&2
	exit 1
fi
if [ ! -f "$bld/Makefile" ]; then
	(cd "$bld" && "$top/configure" --quiet CC=clang \
	    CFLAGS="-g -O1 -fsanitize=fuzzer-no-link $san") || exit 1
fi
make -C "$bld" -j"$(nproc)" --quiet libmonitord.a >/dev/null || exit 1
libs=$(make -s -C "$bld" print-libs)
cflags=$(make -s -C "$bld" print-cflags)

status=0
for src in fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	bin=$bld/fuzz_$name
	if ! clang -g -O1 -fsanitize=fuzzer $san -I"$top/src" -I"$top" -I"$bld" \
	    $cflags "$src" "$bld/libmonitord.a" $libs -o "$bin"; then
		echo "FAIL: fuzz_$name does not build"
		printf ':test-result: FAIL\n' >"$out/$name.trs"
		status=1
		continue
	fi
	scratch=$(mktemp -d)
	seeds=$top/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=""
	if (cd "$out" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$out/$name-" "$scratch" $seeds >"$out/$name.log" 2>&1); then
		echo "PASS: fuzz_$name ($(grep -c . "$out/$name.log") log lines, ${secs}s)"
		printf ':test-result: PASS\n' >"$out/$name.trs"
	else
		echo "FAIL: fuzz_$name; see $out/$name.log"
		tail -30 "$out/$name.log"
		printf ':test-result: FAIL\n' >"$out/$name.trs"
		status=1
	fi
	rm -rf "$scratch"
done
exit $status
