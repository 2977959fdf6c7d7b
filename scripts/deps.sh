#!/bin/sh
# Install the Debian/Ubuntu packages monitord needs, only those missing.
#   scripts/deps.sh build     what building and running monitord needs
#   scripts/deps.sh test      that, plus what the test suite needs
# Runs apt-get as root (through sudo when not root).
set -eu

build_pkgs="build-essential autoconf automake libtool pkg-config
 liblmdb-dev libevent-dev librabbitmq-dev libpq-dev zlib1g-dev check
 libjansson-dev libpcre2-dev libssl-dev libzstd-dev libsnappy-dev
 libhttp-parser-dev
 libprotobuf-c-dev protobuf-c-compiler libyaml-dev nodejs npm"
test_pkgs="python3 mandoc clang curl lmdb-utils postgresql rabbitmq-server
 prometheus-alertmanager prometheus prometheus-node-exporter
 chromium"

case "${1:-build}" in
build)	want="$build_pkgs" ;;
test)	want="$build_pkgs $test_pkgs" ;;
*)	echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# node and npm from elsewhere (NodeSource's nodejs includes npm) do.
	case "$p" in
	nodejs)	command -v node >/dev/null 2>&1 && continue ;;
	npm)	command -v npm >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
