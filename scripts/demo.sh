#!/usr/bin/env bash
# make demo: the workshop's attacks, caught on one machine.
#
# Builds `tripline`, ingests the workshop data set (events/scenarios/workshop: raw CloudTrail, VPC
# Flow Logs and GuardDuty files) into a fresh embedded store, runs every alert at the data set's
# time and checks the result against expected.json: each scenario detected, nothing raised by the
# benign background. Then a second run at the same clock must raise nothing (the events that
# raised are tagged), and two hours after the data ends the CloudTrail deadman must fire.
#
# Then two day-long data sets, each ingested into a fresh store and replayed tick by tick over
# its day (scripts/replay_check.py): events/scenarios/benign-day must raise nothing at all, and
# events/scenarios/attack-chain must raise each step of its intrusion, in order, and nothing else.
# Exits non-zero on any miss or surprise.
#
# TRIPLINE=/path/to/tripline skips the build; otherwise the binary is built into
# ${CARGO_TARGET_DIR:-target}/debug/tripline.
set -euo pipefail

cd "$(dirname "$0")/.."
DATA=events/scenarios/workshop
STORE=${TRIPLINE_DEMO_STORE:-.tripline/demo}
CARGO=${CARGO:-cargo}
PY=$(command -v python3)

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d" + sys.argv[2]))' "$DATA/expected.json" "$1"; }

if [ -z "${TRIPLINE:-}" ]; then
    bold "build"
    $CARGO build --quiet -p tripline-cli --bin tripline
    TRIPLINE=${CARGO_TARGET_DIR:-target}/debug/tripline
fi

AT=$(field '["at"]')
SILENT_AT=$(field '["silence"]["at"]')
DEADMAN=$(field '["silence"]["alert"]')

bold "ingest $DATA into a fresh embedded store ($STORE)"
rm -rf "$STORE"
mkdir -p "$(dirname "$STORE")"
"$TRIPLINE" --store "$STORE" ingest "$DATA/cloudtrail" "$DATA/vpcflow" "$DATA/guardduty"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

bold "every alert at $AT"
# An archive is complete: nothing arrives late, so no lateness allowance (with one, an
# aggregation also counts its settled window, 30 minutes back, which at a single clock holds the
# older part of a scenario and raises it a second time, as a live schedule would have earlier).
"$TRIPLINE" --store "$STORE" run --at "$AT" --lateness 0s --dry-run
# The same run again, recording this time (alerts index, events tagged), as JSON lines to check.
"$TRIPLINE" --store "$STORE" run --at "$AT" --lateness 0s --json >"$OUT/first.jsonl"
# Once more at the same clock: everything that raised is tagged, so nothing is raised again.
"$TRIPLINE" --store "$STORE" run --at "$AT" --lateness 0s --json >"$OUT/second.jsonl"
# Two hours after the data ends, CloudTrail has been silent for an hour.
"$TRIPLINE" --store "$STORE" run --alert "$DEADMAN" --at "$SILENT_AT" --json --dry-run >"$OUT/silence.jsonl"

bold "checklist ($DATA/expected.json)"
status=0
"$PY" - "$DATA/expected.json" "$OUT" <<'PYEOF' | tee "$OUT/workshop.log" || status=1
import json, sys

expected = json.load(open(sys.argv[1]))
out = sys.argv[2]

def load(name):
    with open(f"{out}/{name}") as f:
        return [json.loads(l) for l in f if l.strip()]

first, second, silence = load("first.jsonl"), load("second.jsonl"), load("silence.jsonl")
GREEN, RED, END = "\033[32m", "\033[31m", "\033[0m"
problems = 0

def mark(good, yes="found", no="MISSING"):
    global problems
    problems += 0 if good else 1
    return f"{GREEN}{yes:<10}{END}" if good else f"{RED}{no:<10}{END}"

unmatched = list(first)
print(f"Scenarios (alerts at {expected['at']}):")
for exp in expected["alerts"]:
    hit = next((a for a in unmatched if a["classname"] == exp["alert"]
                and exp["summary_contains"] in a["summary"]), None)
    if hit is not None:
        unmatched.remove(hit)
    good = hit is not None and hit["severity"] == exp["severity"]
    got = "" if hit is None else f"  {hit['severity']}: {hit['summary'][:110]}"
    if hit is not None and hit["severity"] != exp["severity"]:
        got += f"  (expected {exp['severity']})"
    print(f"  [{mark(good)}] {exp['scenario']:<52} {exp['alert']}{got}")

print("Unexpected alerts (the benign background must raise none):")
if not unmatched:
    print(f"  [{mark(True, 'none')}]")
for a in unmatched:
    print(f"  [{mark(False, no='UNEXPECTED')}] {a['classname']}: {a['severity']} {a['summary']}")

print("Dedup: a second run at the same clock raises nothing:")
print(f"  [{mark(not second, 'ok', 'FAILED')}] {len(second)} alert(s) raised again")

s = expected["silence"]
deadman = [a for a in silence if a["classname"] == s["alert"]]
print(f"Deadman: at {s['at']}, after an hour without CloudTrail:")
print(f"  [{mark(len(deadman) == 1 and len(silence) == 1)}] {s['alert']}"
      + (f"  {deadman[0]['summary']}" if deadman else ""))

total = len(expected["alerts"])
found = total - sum(1 for e in expected["alerts"]
                    if not any(a["classname"] == e["alert"] and e["summary_contains"] in a["summary"] for a in first))
print()
if problems:
    print(f"{RED}make demo: {problems} problem(s); {found}/{total} scenarios detected{END}")
    sys.exit(1)
print(f"{GREEN}make demo: {found}/{total} scenarios detected, nothing else raised, "
      f"no duplicates, deadman fires{END}")
PYEOF

# The day-long sets: a fresh store each, every alert replayed over the day.
for SET in benign-day attack-chain; do
    bold "$SET (events/scenarios/$SET)"
    "$PY" scripts/replay_check.py "$TRIPLINE" "events/scenarios/$SET" "$STORE-$SET" \
        | tee "$OUT/$SET.log" || status=1
done

bold "summary"
for f in workshop benign-day attack-chain; do
    tail -n 1 "$OUT/$f.log" 2>/dev/null || echo "$f: no result"
done
exit $status
