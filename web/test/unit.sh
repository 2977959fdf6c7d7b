#!/bin/sh
# The dashboard's unit tests (web/test/*.test.mjs) under node's own test
# runner, printing TAP for the automake harness.  Without node the tests
# are skipped, unless $CI is set: then it is a failure.
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "Bail out! node is not installed (needed with CI set)"
		exit 1
	fi
	echo "1..0 # SKIP node is not installed"
	exit 0
fi
exec node --test --test-reporter=tap "$here"/format.test.mjs \
    "$here"/query.test.mjs "$here"/state.test.mjs
