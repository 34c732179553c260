#!/usr/bin/env bash
# Peak memory and throughput of `tripline ingest` (release build) over N CloudTrail records.
#
#   scripts/ingest-memory.sh                  # 100,000 and 1,000,000 records
#   scripts/ingest-memory.sh 300000           # other sizes
#   NO_BUILD=1 scripts/ingest-memory.sh       # use target/release/tripline as it is
#   BIN=/path/to/tripline scripts/ingest-memory.sh   # another binary (e.g. an older commit)
#   INGEST_ARGS="--batch 50000" scripts/ingest-memory.sh
#   TRACE=/tmp/rss.txt NO_BUILD=1 scripts/ingest-memory.sh 1000000   # also a timeline (MiB, threads)
#
# For each N it generates (once, cached in $DATA, default /tmp/tripline-ingest-memory/N) CloudTrail
# delivery files as AWS writes them: gzip, `{"Records":[…]}`, 10,000 records each, ~1.3 KB per
# record, of the shapes in crates/normalize/benches/cloudtrail.rs (IAM CreateUser, EC2
# DescribeInstances, S3 PutBucketAcl with an AllUsers grant, STS AssumeRole, console sign-ins, from
# AWS's documented record examples), spread over one day. It then ingests them into a fresh store
# in a temporary directory under `/usr/bin/time -v` and prints the peak RSS (time's "Maximum
# resident set size", i.e. the kernel's VmHWM: anonymous memory + file-backed pages mapped in,
# which for tantivy means the mmapped segment files it reads), the peaks of RssAnon and RssFile
# sampled from /proc/PID/status every 50 ms, wall time and records/s.
#
# Needs: cargo, python3 and GNU time as /usr/bin/time. When /usr/bin/time is missing this script
# installs it with `apt-get install -y time` (Debian/Ubuntu, as root); it is only for this
# benchmark, nothing else in the project needs it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
DATA=${DATA:-/tmp/tripline-ingest-memory}
PER_FILE=${PER_FILE:-10000}
BIN=${BIN:-$ROOT/target/release/tripline}
INGEST_ARGS=${INGEST_ARGS:-}

if [ ! -x /usr/bin/time ]; then
    echo "== /usr/bin/time is missing: installing GNU time (apt-get install -y time), for this benchmark only" >&2
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

if [ -z "${NO_BUILD:-}" ] && [ "$BIN" = "$ROOT/target/release/tripline" ]; then
    echo "== cargo build --release -p tripline-cli" >&2
    cargo build --release -p tripline-cli >&2
fi

# The generator: N records in files of PER_FILE, gzip, deterministic.
generate() {
    python3 - "$1" "$2" "$PER_FILE" <<'PY'
import gzip, json, os, sys

n, out, per_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ACCOUNT = "123456789012"
UA = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances"

def record(i):
    k = i % 5
    if k == 0:
        src, name, req = "ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}, "maxResults": 1000}
    elif k == 1:
        src, name, req = "iam.amazonaws.com", "CreateUser", {"userName": f"user-{i}"}
    elif k == 2:
        src, name, req = "s3.amazonaws.com", "PutBucketAcl", {
            "bucketName": f"bucket-{i % 97}", "Host": "s3.amazonaws.com",
            "AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"xsi:type": "Group",
                "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}
    elif k == 3:
        src, name, req = "sts.amazonaws.com", "AssumeRole", {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/web", "roleSessionName": f"s{i}"}
    else:
        src, name, req = "signin.amazonaws.com", "ConsoleLogin", None
    ip = "ec2.amazonaws.com" if i % 7 == 0 else f"203.0.{(i // 256) % 256}.{i % 256}"
    # one day, 2026-11-23, whatever N is
    t = (i * 86400) // max(n, 1)
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/user{i % 50}", "accountId": ACCOUNT,
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": f"user{i % 50}",
            "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-23T00:00:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": f"2026-11-23T{t // 3600:02}:{(t // 60) % 60:02}:{t % 60:02}Z",
        "eventSource": src, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userAgent": UA,
        "requestParameters": req,
        "responseElements": {"ConsoleLogin": "Success"} if name == "ConsoleLogin" else None,
        "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"} if name == "ConsoleLogin" else None,
        "requestID": f"{i:08x}-1111-2222-3333-444455556666",
        "eventID": f"{i:08x}-aaaa-bbbb-cccc-ddddeeeeffff",
        "readOnly": name.startswith("Describe"), "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": src},
    }

os.makedirs(out, exist_ok=True)
for f, start in enumerate(range(0, n, per_file)):
    end = min(n, start + per_file)
    path = os.path.join(out, f"{ACCOUNT}_CloudTrail_us-east-1_20261123T0000Z_{f:05}.json.gz")
    body = ",".join(json.dumps(record(i), separators=(",", ":")) for i in range(start, end))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(('{"Records":[' + body + "]}").encode())
PY
}

# Peaks of VmRSS, RssAnon and RssFile (kB) of process $1 until it exits, sampled every 50 ms.
sample() {
    python3 - "$1" <<'PY'
import os, sys, time
pid, peak = sys.argv[1], {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
trace = open(os.environ["TRACE"], "w") if os.environ.get("TRACE") else None
start = time.monotonic()
while True:
    now = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in peak or key == "Threads":
                    now[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        break
    for key in peak:
        peak[key] = max(peak[key], now.get(key, 0))
    if trace:
        trace.write(f"{time.monotonic() - start:.2f} " + " ".join(f"{k}={now.get(k, 0) // 1024 if k != 'Threads' else now.get(k, 0)}" for k in ("VmRSS", "RssAnon", "RssFile", "Threads")) + "\n")
    time.sleep(0.05)
print(peak["VmRSS"], peak["RssAnon"], peak["RssFile"])
PY
}

mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

RESULTS=()
for n in "${SIZES[@]}"; do
    dir=$DATA/$n
    if [ ! -f "$dir/.complete" ]; then
        echo "== generating $n CloudTrail records into $dir" >&2
        rm -rf "$dir"
        generate "$n" "$dir"
        touch "$dir/.complete"
    fi
    store=$(mktemp -d "${TMPDIR:-/tmp}/tripline-store.XXXXXX")
    log=$(mktemp)
    echo "== $BIN --store $store ingest -q $INGEST_ARGS $dir" >&2
    # shellcheck disable=SC2086
    /usr/bin/time -v "$BIN" --store "$store" ingest -q $INGEST_ARGS "$dir" >"$log.out" 2>"$log" &
    timepid=$!
    child=""
    for _ in $(seq 200); do
        child=$(pgrep -P "$timepid" || true)
        [ -n "$child" ] && break
        sleep 0.01
    done
    peaks=$( [ -n "$child" ] && sample "$child" || echo "0 0 0")
    wait "$timepid" || { cat "$log.out" "$log" >&2; echo "ingest failed" >&2; exit 1; }
    read -r s_rss s_anon s_file <<<"$peaks"
    maxrss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    user=$(awk -F': ' '/User time/ {print $2}' "$log")
    sys=$(awk -F': ' '/System time/ {print $2}' "$log")
    secs=$(awk -v w="$wall" 'BEGIN { n = split(w, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
    written=$(grep -a ' written ' "$log.out" | grep -oE '[0-9]+' | head -1 || true)
    size=$(du -sm "$store" | cut -f1)
    line=$(printf "%9s  %9s  %11s  %12s  %12s  %8.1f s  %10.0f  %7.1f s  %6s MB" \
        "$n" "$written" "$(mib "$maxrss") MiB" "$(mib "$s_anon") MiB" "$(mib "$s_file") MiB" "$secs" \
        "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$size")
    echo "$line" >&2
    RESULTS+=("$line")
    rm -rf "$store" "$log" "$log.out"
done

echo
echo "tripline ingest, $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty'), ${INGEST_ARGS:-default options}"
printf "%9s  %9s  %11s  %12s  %12s  %10s  %10s  %9s  %9s\n" \
    records written "max RSS" "peak RssAnon" "peak RssFile" wall "records/s" "CPU" store
for line in "${RESULTS[@]}"; do echo "$line"; done
