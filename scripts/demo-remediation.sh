#!/usr/bin/env bash
# make demo-remediation: the GuardDuty crypto finding through the remediation workflow, in moto.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/demo_remediation.py "$@"
