#!/usr/bin/env python3
"""Ingest a scenario data set into a fresh embedded store, replay every alert over its day, and
check what was raised against the set's expected.json. Used by `make demo` (scripts/demo.sh).

    replay_check.py TRIPLINE DATASET_DIR STORE_DIR

expected.json: {"from": T1, "to": T2, "ordered": bool, "alerts": [{"step", "alert",
"summary_contains", "severity"}, ...]}. Every alert raised must belong to an expected entry (same
alert name, summary containing the text); every entry must be raised, at its severity; with
`ordered`, the entries' first alerts happen in the listed order (an alert's time is the latest
`utctimestamp` of the events it carries, else the clock it was raised at).

The replay is `tripline backtest --from T1 --to T2 --lateness 0s --json` (each alert as if run at
each of its schedule's ticks, recording, so each event raises once; the same alerts as
`tripline run --from T1 --to T2`, which older binaries are driven with). A binary without `--from` is driven
tick by tick instead: `run --at T --lateness 0s --json` every five minutes over (T1, T2].
"""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

GREEN, RED, BOLD, END = "\033[32m", "\033[31m", "\033[1m", "\033[0m"


def parse(t):
    return datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]


def replay(tripline, store, start, end):
    toplevel = subprocess.run([tripline, "--help"], capture_output=True, text=True).stdout
    if "backtest" in toplevel:
        out = subprocess.run([tripline, "--store", store, "backtest", "--from", fmt(start), "--to", fmt(end),
                              "--lateness", "0s", "--json"], capture_output=True, text=True, check=True).stdout
        return lines(out), "backtest (each alert on its schedule, one read per alert)"
    helptext = subprocess.run([tripline, "run", "--help"], capture_output=True, text=True).stdout
    if "--from" in helptext:
        out = subprocess.run([tripline, "--store", store, "run", "--from", fmt(start), "--to", fmt(end),
                              "--lateness", "0s", "--json"], capture_output=True, text=True, check=True).stdout
        return lines(out), "replay (run --from/--to)"
    alerts = []
    t = start + timedelta(minutes=5)
    ticks = 0
    while t <= end:
        out = subprocess.run([tripline, "--store", store, "run", "--at", fmt(t), "--lateness", "0s", "--json"],
                             capture_output=True, text=True, check=True).stdout
        alerts += lines(out)
        ticks += 1
        if ticks % 24 == 0:
            print(f"  … {fmt(t)}: {len(alerts)} alert(s) so far", flush=True)
        t += timedelta(minutes=5)
    return alerts, f"{ticks} ticks of run --at (5 minutes apart; this binary has no run --from)"


def when(alert):
    times = [e.get("documentsource", {}).get("utctimestamp") for e in alert.get("events", [])]
    times = [parse(x) for x in times if x]
    return max(times) if times else parse(alert["utctimestamp"])


def main():
    tripline, data, store = sys.argv[1:4]
    name = os.path.basename(os.path.normpath(data))
    expected = json.load(open(os.path.join(data, "expected.json")))
    start, end = parse(expected["from"]), parse(expected["to"])
    inputs = [os.path.join(data, sub) for sub in ("cloudtrail", "vpcflow", "guardduty") if os.path.isdir(os.path.join(data, sub))]
    subprocess.run(["rm", "-rf", store], check=True)
    os.makedirs(os.path.dirname(os.path.abspath(store)), exist_ok=True)
    print(f"{BOLD}== {name}: ingest into a fresh store ({store}){END}", flush=True)
    ingest = subprocess.run([tripline, "--store", store, "ingest", *inputs], capture_output=True, text=True)
    if ingest.returncode != 0:
        print(ingest.stdout + ingest.stderr)
        sys.exit(1)
    total = [l for l in ingest.stdout.splitlines() if "total" in l]
    print("  " + (total[0].strip() if total else "ingested"))
    print(f"{BOLD}== {name}: every alert over {expected['from']} … {expected['to']}{END}", flush=True)
    alerts, how = replay(tripline, store, start, end)
    print(f"  {how}: {len(alerts)} alert(s)")

    problems = 0
    unmatched = list(alerts)
    rows = []
    for exp in expected["alerts"]:
        hits = [a for a in unmatched if a["classname"] == exp["alert"] and exp["summary_contains"] in a["summary"]]
        for a in hits:
            unmatched.remove(a)
        first = min(hits, key=when) if hits else None
        rows.append((exp, hits, first))
    if rows:
        print(f"Steps ({name}/expected.json{', in order' if expected.get('ordered') else ''}):")
    last = None
    found = 0
    for exp, hits, first in rows:
        good = bool(hits) and all(a["severity"] == exp["severity"] for a in hits)
        note = ""
        if hits:
            found += 1
            t = when(first)
            note = f"  {fmt(t)} {first['severity']}: {first['summary'][:100]}"
            if len(hits) > 1:
                note += f"  (+{len(hits) - 1} more)"
            bad = sorted({a["severity"] for a in hits} - {exp["severity"]})
            if bad:
                note += f"  (expected {exp['severity']}, got {', '.join(bad)})"
            if expected.get("ordered") and last is not None and t < last:
                good = False
                note += f"  {RED}OUT OF ORDER{END} (before the previous step's {fmt(last)})"
            last = t if last is None or t > last else last
        label = f"{GREEN}{'found':<10}{END}" if good else f"{RED}{'MISSING' if not hits else 'WRONG':<10}{END}"
        problems += 0 if good else 1
        print(f"  [{label}] {exp['step']:<44} {exp['alert']}{note}")
    print("Unexpected alerts (the background must raise none):")
    if not unmatched:
        print(f"  [{GREEN}{'none':<10}{END}]")
    for a in sorted(unmatched, key=when):
        problems += 1
        print(f"  [{RED}{'UNEXPECTED':<10}{END}] {fmt(when(a))} {a['classname']}: {a['severity']} {a['summary'][:160]}")
    total = len(expected["alerts"])
    if problems:
        steps = f"{found}/{total} steps raised, " if total else ""
        print(f"{RED}{name}: {problems} problem(s); {steps}{len(unmatched)} unexpected alert(s){END}")
        sys.exit(1)
    what = f"{found}/{total} steps raised{' in order' if expected.get('ordered') and total else ''}, " if total else ""
    print(f"{GREEN}{name}: {what}nothing else raised ({len(alerts)} alert(s) over the day){END}")


if __name__ == "__main__":
    main()
