#!/usr/bin/env bash
set -euo pipefail
echo "make demo: coming with the remediation workflow (issue #6). Meanwhile: make test"
