#!/usr/bin/env bash
# Template and state-machine checks (make lint, run by make test).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"
shopt -s nullglob

asl=(statemachines/*.asl.json)
(( ${#asl[@]} > 0 )) || { echo "no statemachines/*.asl.json found" >&2; exit 1; }
for f in "${asl[@]}"; do
  asl-validator --json-path "$f" >/dev/null || { echo "asl-validator: $f is not valid ASL" >&2; asl-validator --json-path "$f"; exit 1; }
done
echo "asl-validator: ${#asl[@]} state machine(s) valid"

.venv/bin/python scripts/sam_lint.py infra/template.yaml

# Every role grants exactly what its state machine's states or its function's code call.
.venv/bin/python scripts/iam_check.py infra/template.yaml

# Crates depend only on lower layers; no two files import each other.
.venv/bin/python scripts/layers.py
