#!/usr/bin/env bash
# Builds the Lambda functions exactly as a deployment does: `sam build` from infra/ (the template's
# BuildMethod rust-cargolambda, arm64), then checks that each function's `bootstrap` is an aarch64
# ELF executable and prints its size.
# Installs, when missing (idempotent: quick when already installed), under .local/ (git-ignored):
#   .local/sam/   the AWS SAM CLI and cargo-lambda, both from PyPI (cargo-lambda cross-compiles
#                 with zig, which the PyPI package ziglang ships: nothing is downloaded elsewhere)
# and the Rust target aarch64-unknown-linux-gnu (rustup). Needs python3 (with venv), cargo, rustup.
# The build goes to the workspace's target directory (CARGO_TARGET_DIR when set), beside and apart
# from the debug builds: target/aarch64-unknown-linux-gnu/release and target/lambda/.
# `scripts/sam-build.sh --check` only checks the bootstraps of the last build.
# Used by .ci/run and the README ("Deploying on AWS").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.local/sam"
TARGET=aarch64-unknown-linux-gnu
PY_PACKAGES=(
    "aws-sam-cli==1.170.0"
    "cargo-lambda==1.9.2"
    "ziglang==0.17.1"
)
stamp="$venv/.picsync-installed"
want=$(printf '%s\n' "${PY_PACKAGES[@]}")

fail() {
    echo "sam-build: $*" >&2
    exit 1
}
need() {
    command -v "$1" >/dev/null 2>&1 || fail "'$1' is required ($2)"
}

# Each function's bootstrap under infra/.aws-sam/build/<function>/: an aarch64 ELF executable,
# one per AWS::Serverless::Function of the template.
check_bootstraps() {
    local functions found=0 dir name bin h etype machine size
    functions=$(grep -c 'Type: AWS::Serverless::Function' infra/template.yaml || true)
    [[ "$functions" -gt 0 ]] || fail "no AWS::Serverless::Function in infra/template.yaml"
    for dir in infra/.aws-sam/build/*/; do
        [[ -d "$dir" ]] || fail "nothing built in infra/.aws-sam/build"
        name=$(basename "$dir")
        bin="${dir}bootstrap"
        [[ -f "$bin" ]] || fail "$name: no bootstrap in $dir"
        [[ -x "$bin" ]] || fail "$name: bootstrap is not executable"
        # the ELF header: magic 7f 'E' 'L' 'F', class 2 (64-bit), data 1 (little-endian), e_type
        # (offset 16) 2 (executable) or 3 (position-independent), e_machine (offset 18) 0xb7 (183, AArch64)
        read -r -a h <<<"$(od -A n -v -t u1 -N 20 "$bin" | tr '\n' ' ')"
        [[ "${#h[@]}" -eq 20 ]] || fail "$name: bootstrap is shorter than an ELF header"
        [[ "${h[0]} ${h[1]} ${h[2]} ${h[3]}" == "127 69 76 70" ]] || fail "$name: bootstrap is not an ELF file"
        [[ "${h[4]}" -eq 2 && "${h[5]}" -eq 1 ]] || fail "$name: bootstrap is not a 64-bit little-endian ELF"
        etype=$((h[16] + 256 * h[17]))
        [[ "$etype" -eq 2 || "$etype" -eq 3 ]] || fail "$name: bootstrap is not an executable (e_type $etype)"
        machine=$((h[18] + 256 * h[19]))
        [[ "$machine" -eq 183 ]] || fail "$name: bootstrap is not aarch64 (e_machine $machine, want 183)"
        size=$(wc -c <"$bin")
        echo "sam-build: $name/bootstrap: aarch64 ELF, $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB)"
        found=$((found + 1))
    done
    [[ "$found" -eq "$functions" ]] ||
        fail "$found bootstrap(s) in infra/.aws-sam/build, but infra/template.yaml has $functions function(s)"
    echo "sam-build: done, $found functions built for aarch64"
}

case "${1:-}" in
"") ;;
--check)
    check_bootstraps
    exit 0
    ;;
*) fail "unknown argument '$1' (usage: scripts/sam-build.sh [--check])" ;;
esac

need python3 "to install the SAM CLI and cargo-lambda"
need cargo "to build the functions"
need rustup "to add the Rust target $TARGET"

# --- the SAM CLI and cargo-lambda (with zig) ------------------------------------------------
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "sam-build: the SAM CLI and cargo-lambda already in .local/sam"
else
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv" || fail "cannot create the venv .local/sam"
    echo "sam-build: installing ${PY_PACKAGES[*]}"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}" ||
        fail "pip could not install ${PY_PACKAGES[*]}"
    printf '%s' "$want" >"$stamp"
    echo "sam-build: installed in .local/sam"
fi
# sam finds `cargo lambda` (cargo-lambda) on PATH, and cargo-lambda finds zig through the venv's
# python (the ziglang package)
export PATH="$venv/bin:$PATH"
# no usage data sent to AWS, no prompt for it
export SAM_CLI_TELEMETRY=0

# --- the Rust target --------------------------------------------------------------------------
if rustup target list --installed | grep -qx "$TARGET"; then
    echo "sam-build: Rust target $TARGET already installed"
else
    echo "sam-build: rustup target add $TARGET"
    rustup target add "$TARGET" || fail "rustup could not add the target $TARGET"
fi

echo "sam-build: $(sam --version), $(cargo lambda --version), zig $(python3 -m ziglang version)"

# --- sam build --------------------------------------------------------------------------------
# an old bootstrap must not pass the checks below
rm -rf infra/.aws-sam/build
start=$(date +%s)
(cd infra && sam build </dev/null) || fail "sam build failed (see above)"
echo "sam-build: sam build took $(($(date +%s) - start)) s"

check_bootstraps
