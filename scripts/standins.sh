#!/usr/bin/env bash
# Starts and stops the local AWS stand-ins on 127.0.0.1 (installed by scripts/install-standins.sh):
#   DynamoDB Local (in memory, -sharedDb) and moto server (SQS, Secrets Manager).
#
#   scripts/standins.sh start    start both at free ports (or keep them if already running), wait
#                                until they answer (bounded), write .local/standins.env
#   scripts/standins.sh stop     stop the ones this script started
#   scripts/standins.sh status   exit 0 when both are running and answer
#   scripts/standins.sh env      print `export` lines for the current shell
#
# The tests read .local/standins.env (or PICSYNC_DYNAMODB_URL / PICSYNC_MOTO_URL) to find them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
local_dir="$root/.local"
run_dir="$local_dir/run"
env_file="$local_dir/standins.env"
py="$local_dir/venv/bin/python"
moto="$local_dir/venv/bin/moto_server"
jar_dir="$local_dir/dynamodb"

not_installed() {
    echo "standins: $1 is not installed: run scripts/install-standins.sh first" >&2
    exit 1
}

free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# answers URL: true when an HTTP server answers at URL (any status), within 1 s
answers() {
    "$py" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
EOF
}

alive() {
    [[ -f "$run_dir/$1.pid" ]] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null
}

url_of() {
    [[ -f "$env_file" ]] && sed -n "s/^$1=//p" "$env_file"
}

running() {
    alive dynamodb && alive moto && [[ -f "$env_file" ]] &&
        answers "$(url_of PICSYNC_DYNAMODB_URL)" && answers "$(url_of PICSYNC_MOTO_URL)/moto-api/"
}

wait_for() { # name url pid
    local i
    for i in $(seq 1 120); do
        if answers "$2"; then return 0; fi
        if ! kill -0 "$3" 2>/dev/null; then
            echo "standins: $1 exited; its log:" >&2
            tail -n 20 "$run_dir/$1.log" >&2 || true
            return 1
        fi
        sleep 0.25
    done
    echo "standins: $1 did not answer at $2 within 30 s; its log:" >&2
    tail -n 20 "$run_dir/$1.log" >&2 || true
    return 1
}

stop_one() {
    local pid
    if [[ -f "$run_dir/$1.pid" ]]; then
        pid=$(cat "$run_dir/$1.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$run_dir/$1.pid"
    fi
}

start() {
    [[ -f "$jar_dir/DynamoDBLocal.jar" ]] || not_installed "DynamoDB Local"
    [[ -x "$moto" ]] || not_installed "moto server"
    command -v java >/dev/null 2>&1 || not_installed "java"
    if running; then
        echo "standins: already running ($(tr '\n' ' ' <"$env_file"))"
        return 0
    fi
    stop_one dynamodb
    stop_one moto
    mkdir -p "$run_dir"
    local dport mport
    dport=$(free_port)
    mport=$(free_port)
    while [[ "$mport" == "$dport" ]]; do mport=$(free_port); done
    # run from .local/run: DynamoDB Local leaves a metadata file in its working directory
    (cd "$run_dir" && exec nohup java -Xmx512m -Djava.library.path="$jar_dir/DynamoDBLocal_lib" \
        -jar "$jar_dir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$dport" \
        >"$run_dir/dynamodb.log" 2>&1 </dev/null) &
    echo $! >"$run_dir/dynamodb.pid"
    nohup "$moto" -H 127.0.0.1 -p "$mport" >"$run_dir/moto.log" 2>&1 </dev/null &
    echo $! >"$run_dir/moto.pid"
    wait_for dynamodb "http://127.0.0.1:$dport" "$(cat "$run_dir/dynamodb.pid")"
    wait_for moto "http://127.0.0.1:$mport/moto-api/" "$(cat "$run_dir/moto.pid")"
    printf 'PICSYNC_DYNAMODB_URL=http://127.0.0.1:%s\nPICSYNC_MOTO_URL=http://127.0.0.1:%s\n' "$dport" "$mport" >"$env_file.tmp"
    mv "$env_file.tmp" "$env_file"
    echo "standins: DynamoDB Local at http://127.0.0.1:$dport, moto server at http://127.0.0.1:$mport ($env_file)"
}

stop() {
    stop_one dynamodb
    stop_one moto
    rm -f "$env_file"
    echo "standins: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
    if running; then
        echo "standins: running ($(tr '\n' ' ' <"$env_file"))"
    else
        echo "standins: not running"
        exit 1
    fi
    ;;
env)
    [[ -f "$env_file" ]] || { echo "standins: not started (scripts/standins.sh start)" >&2; exit 1; }
    sed 's/^/export /' "$env_file"
    ;;
*)
    echo "usage: scripts/standins.sh start|stop|status|env" >&2
    exit 2
    ;;
esac
