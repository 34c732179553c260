#!/usr/bin/env bash
# A real OpenSearch node for the tests: the engine Amazon OpenSearch Service runs, not an imitation.
#
#   scripts/opensearch.sh fetch            download the pinned distribution once (Maven Central)
#   scripts/opensearch.sh run -- CMD ...   start one node, run CMD with TRIPLINE_OPENSEARCH_URL set,
#                                          stop the node (also when CMD fails); exit with CMD's code
#   scripts/opensearch.sh serve            start one node, print `url=http://127.0.0.1:PORT`, stop it
#                                          when stdin closes (what crates/testkit uses when the
#                                          variable is not set)
#
# If TRIPLINE_OPENSEARCH_URL is already set, `run` starts nothing and points CMD at that cluster.
#
# The distribution is `org.opensearch.distribution.integ-test-zip:opensearch:$VERSION` (zip): the
# minimal build without plugins, served by Maven Central. It is fetched with Maven into ignored
# folders of the repository (.cache/m2, .cache/opensearch) and unpacked afresh for each node in a
# temporary directory, which is deleted when the node stops. OpenSearch refuses to run as root,
# so as root (CI) the node runs as `nobody`.
#
# Settings: TRIPLINE_OPENSEARCH_VERSION (default 2.19.6, the newest 2.x Amazon OpenSearch Service
# runs; 2.19 runs on Java 17), TRIPLINE_OPENSEARCH_HEAP (default 512m), JAVA_HOME (default: the
# `java` on PATH).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=${TRIPLINE_OPENSEARCH_VERSION:-2.19.6}
HEAP=${TRIPLINE_OPENSEARCH_HEAP:-512m}
CACHE=$ROOT/.cache/opensearch
ZIP=$CACHE/opensearch-$VERSION.zip
ARTIFACT=org.opensearch.distribution.integ-test-zip:opensearch:$VERSION:zip

say() { echo "opensearch.sh: $*" >&2; }

fetch() {
    if [[ -s $ZIP ]]; then
        return
    fi
    command -v mvn >/dev/null || { say "Maven (mvn) is needed to fetch $ARTIFACT"; exit 1; }
    mkdir -p "$CACHE"
    say "fetching $ARTIFACT from Maven Central (once; cached in .cache/)"
    local out
    if ! out=$(mvn -q -B -Dmaven.repo.local="$ROOT/.cache/m2" dependency:copy \
        -Dartifact="$ARTIFACT" -DoutputDirectory="$CACHE/download" 2>&1); then
        say "Maven could not fetch $ARTIFACT:"
        echo "$out" >&2
        exit 1
    fi
    mv "$CACHE/download/opensearch-$VERSION.zip" "$ZIP.part"
    mv "$ZIP.part" "$ZIP"
    rmdir "$CACHE/download" 2>/dev/null || true
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

java_home() {
    if [[ -n ${JAVA_HOME:-} ]]; then
        echo "$JAVA_HOME"
    else
        command -v java >/dev/null || { say "a JDK is needed (java not on PATH, JAVA_HOME not set)"; exit 1; }
        dirname "$(dirname "$(readlink -f "$(command -v java)")")"
    fi
}

NODE_DIR=""
NODE_PID=""

stop() {
    if [[ -n $NODE_PID ]] && kill -0 "$NODE_PID" 2>/dev/null; then
        kill "$NODE_PID" 2>/dev/null || true
        # OpenSearch shuts down in a few seconds; do not leave it behind.
        for _ in $(seq 1 100); do
            kill -0 "$NODE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$NODE_PID" 2>/dev/null || true
    fi
    NODE_PID=""
    if [[ -n $NODE_DIR ]]; then
        rm -rf "$NODE_DIR"
        NODE_DIR=""
    fi
}

# Start a node; sets URL. Fails (with the node's log) if it is not healthy within 180 s.
start() {
    fetch
    NODE_DIR=$(mktemp -d /tmp/tripline-opensearch.XXXXXX)
    python3 -m zipfile -e "$ZIP" "$NODE_DIR"
    local home=$NODE_DIR/opensearch-$VERSION
    chmod +x "$home"/bin/*
    mkdir -p "$NODE_DIR/data" "$NODE_DIR/logs"
    # The JVM options write GC logs and heap dumps to paths relative to the working directory.
    sed -i -e "s#logs/#$NODE_DIR/logs/#g" -e "s#HeapDumpPath=data#HeapDumpPath=$NODE_DIR/data#" \
        "$home/config/jvm.options"
    local port transport
    port=$(free_port)
    transport=$(free_port)
    local -a as_user=()
    if [[ $(id -u) == 0 ]]; then
        chmod 755 "$NODE_DIR"
        chown -R nobody:nogroup "$NODE_DIR"
        as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    fi
    local started=$SECONDS
    (
        cd "$NODE_DIR"
        OPENSEARCH_JAVA_HOME=$(java_home) OPENSEARCH_PATH_CONF=$home/config \
            OPENSEARCH_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP" \
            exec "${as_user[@]}" "$home/bin/opensearch" \
            -Ediscovery.type=single-node -Enode.name=tripline-test \
            -Ehttp.host=127.0.0.1 -Ehttp.port="$port" \
            -Etransport.host=127.0.0.1 -Etransport.port="$transport" \
            -Epath.data="$NODE_DIR/data" -Epath.logs="$NODE_DIR/logs" \
            -Ecluster.routing.allocation.disk.threshold_enabled=false
    ) >"$NODE_DIR/node.log" 2>&1 </dev/null &
    NODE_PID=$!
    URL=http://127.0.0.1:$port
    while ((SECONDS - started < 180)); do
        if ! kill -0 "$NODE_PID" 2>/dev/null; then
            say "the node exited before it was ready; its log:"
            tail -40 "$NODE_DIR/node.log" >&2
            stop
            exit 1
        fi
        if curl -fsS "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
            say "OpenSearch $VERSION ready at $URL in $((SECONDS - started)) s (heap $HEAP)"
            return
        fi
        sleep 0.5
    done
    say "the node was not ready within 180 s; its log:"
    tail -40 "$NODE_DIR/node.log" >&2
    stop
    exit 1
}

case ${1:-} in
fetch)
    fetch
    ;;
run)
    shift
    [[ ${1:-} == -- ]] && shift
    (($#)) || { say "run: no command"; exit 2; }
    if [[ -n ${TRIPLINE_OPENSEARCH_URL:-} ]]; then
        say "using TRIPLINE_OPENSEARCH_URL=$TRIPLINE_OPENSEARCH_URL"
        exec "$@"
    fi
    trap stop EXIT
    trap 'stop; exit 130' INT TERM
    start
    rc=0
    # TRIPLINE_OPENSEARCH_LOCAL tells the tests this is their own throw-away node (no
    # authentication), not a cluster configured by the environment.
    TRIPLINE_OPENSEARCH_URL=$URL TRIPLINE_OPENSEARCH_LOCAL=1 "$@" || rc=$?
    stop
    exit $rc
    ;;
serve)
    trap stop EXIT
    trap 'stop; exit 130' INT TERM
    start
    echo "url=$URL"
    # Until whoever started us goes away (its end of our stdin closes).
    cat >/dev/null || true
    ;;
*)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
