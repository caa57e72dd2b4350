#!/usr/bin/env bash
# Applies the reviewed plan. calmctl refuses it, changing nothing, when calm.yaml or an inventory
# differs from what it was made from, when it is older than --max-plan-age, or when an object it
# touches changed since; `CI` is set on runners, so --max-delete defaults to 0.
#
# Environment: CALMCTL, CALM_CONFIG, CALM_ARGS, PLAN_DIR (holding plan.json).
set -euo pipefail

dir="${PLAN_DIR:-calmctl-plan}"
if [ ! -f "$dir/plan.json" ]; then
  echo "::error::no reviewed plan at $dir/plan.json"
  exit 1
fi
read -r -a args <<< "${CALM_ARGS:-}"
"${CALMCTL:-calmctl}" apply "$dir/plan.json" -f "${CALM_CONFIG:-calm.yaml}" --no-progress "${args[@]}"
