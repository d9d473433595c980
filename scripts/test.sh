#!/usr/bin/env bash
# The project's test command (README, .ci/run): every test of the workspace.
# Tests that need a local AWS stand-in start it through scripts/standins.sh themselves and fail
# with a hint naming scripts/install-standins.sh when it is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --locked "$@"
