#!/usr/bin/env bash
# Debian's Chromium for the HTML report tests (tests/report): installs it when missing, prints its
# path. Playwright drives this browser (executable_path); it never downloads a browser build.
#
#   scripts/chromium.sh        install /usr/bin/chromium if missing, print its path
#
# TRIPLINE_CHROMIUM=/path/to/chromium skips the install and prints that path (if it runs).
set -euo pipefail

if [[ -n ${TRIPLINE_CHROMIUM:-} ]]; then
	"$TRIPLINE_CHROMIUM" --version >/dev/null
	echo "$TRIPLINE_CHROMIUM"
	exit 0
fi

BIN=/usr/bin/chromium
if [[ ! -x $BIN ]]; then
	if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
	export DEBIAN_FRONTEND=noninteractive
	install() { "${SUDO[@]}" apt-get install -y --no-install-recommends -qq chromium >&2; }
	# An old or empty package list fails the install: refresh it once and try again.
	if ! install; then
		"${SUDO[@]}" apt-get update -qq >&2
		install
	fi
fi
"$BIN" --version 2>/dev/null >&2  # (Debian's wrapper script can print shell noise on stderr)
echo "$BIN"
