#!/usr/bin/env bash
set -euo pipefail
echo "make demo: coming with the alert runtime (issue #5). Meanwhile: make test"
