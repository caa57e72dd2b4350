#!/usr/bin/env bash
# `calmctl plan` for a pull request: Markdown parts for the comment (each under GitHub's
# 65,536-character limit) and the saved plan that the apply side applies after merge.
#
# Environment: CALMCTL (the binary), CALM_CONFIG, CALM_ARGS (further arguments, split on
# spaces), PLAN_DIR (where the parts and plan.json go). Writes `changes` (true/false) and
# `exit-code` to $GITHUB_OUTPUT. Exit 0 and 2 of calmctl are both a plan; 1 fails the step.
set -euo pipefail

dir="${PLAN_DIR:-calmctl-plan}"
rm -rf "$dir"
mkdir -p "$dir"
read -r -a args <<< "${CALM_ARGS:-}"
set +e
"${CALMCTL:-calmctl}" plan -f "${CALM_CONFIG:-calm.yaml}" --format markdown \
  --out-dir "$dir/comment" --out "$dir/plan.json" "${args[@]}"
code=$?
set -e
case "$code" in
  0) changes=false ;;
  2) changes=true ;;
  *)
    echo "::error::calmctl plan failed (exit $code); see the log above"
    exit "$code"
    ;;
esac
echo "changes=$changes" >> "$GITHUB_OUTPUT"
echo "exit-code=$code" >> "$GITHUB_OUTPUT"
