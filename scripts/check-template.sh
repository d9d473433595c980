#!/usr/bin/env bash
# Checks infra/template.yaml: expands the SAM template with aws-sam-translator (placeholder
# code locations, no AWS calls), then lints the expanded CloudFormation with cfn-lint. Fails
# on any finding, warnings included (cfn-lint alone misses most SAM mistakes).
# Needs scripts/install-standins.sh (it installs both into .local/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.local/venv/bin/python
lint=.local/venv/bin/cfn-lint
if [[ ! -x "$py" || ! -x "$lint" ]]; then
    echo "check-template: aws-sam-translator and cfn-lint are not installed: run scripts/install-standins.sh" >&2
    exit 1
fi
template=${1:-infra/template.yaml}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-west-2}
"$py" - "$template" "$out/expanded.json" <<'PY'
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

src, dst = sys.argv[1], sys.argv[2]
with open(src) as f:
    template = yaml_parse(f.read())
# sam build would upload each function's code: stand in a placeholder S3 location
for name, res in template.get("Resources", {}).items():
    if res.get("Type") == "AWS::Serverless::Function":
        res.setdefault("Properties", {})["CodeUri"] = f"s3://picsync-placeholder/{name}.zip"

class NoIam:
    """Managed policies are not looked up (no AWS calls): the template uses none."""
    def load(self):
        return {}

expanded = transform(template, {}, NoIam())
with open(dst, "w") as f:
    json.dump(expanded, f, indent=1)
print(f"check-template: {src} expanded ({len(expanded['Resources'])} resources)")
PY
if "$lint" --format parseable "$out/expanded.json"; then
    echo "check-template: cfn-lint found nothing"
else
    status=$?
    echo "check-template: cfn-lint findings (exit $status)" >&2
    exit "$status"
fi
