#!/bin/sh
# One command from a fresh clone to a running monitord: install what is
# missing, build, and run in the foreground with the embedded default config
# (or the config named by MONITORD_CONF).  The dashboard URL is printed.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure --quiet
make -j"$(nproc)" --quiet monitord
if [ -n "${MONITORD_CONF:-}" ]; then
	exec ./monitord -f -c "$MONITORD_CONF"
fi
exec ./monitord -f
