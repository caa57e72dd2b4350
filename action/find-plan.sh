#!/usr/bin/env bash
# After a merge: the pull request the commit came from, and the successful plan run of its last
# commit, whose artifact holds the plan that was reviewed.
#
# Environment: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_SHA, PLAN_WORKFLOW (the
# plan workflow's file name), ARTIFACT (the artifact name's prefix). Writes `run-id`, `artifact`
# and `pr` to $GITHUB_OUTPUT.
set -euo pipefail

api="${GITHUB_API_URL:-https://api.github.com}"
repo="${GITHUB_REPOSITORY:?owner/name}"
headers=(-H "Authorization: Bearer ${GITHUB_TOKEN:?a token that may read actions}"
  -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28")
call() { curl -sSf --retry 3 "${headers[@]}" "$@"; }

pulls=$(call "$api/repos/$repo/commits/${GITHUB_SHA:?the merged commit}/pulls")
pr=$(jq -r '.[0].number // empty' <<< "$pulls")
head=$(jq -r '.[0].head.sha // empty' <<< "$pulls")
if [ -z "$pr" ] || [ -z "$head" ]; then
  echo "::error::commit $GITHUB_SHA came from no pull request: there is no reviewed plan to apply"
  exit 1
fi
workflow="${PLAN_WORKFLOW:-calmctl-plan.yml}"
runs=$(call "$api/repos/$repo/actions/workflows/$workflow/runs?head_sha=$head&status=success&per_page=1")
run=$(jq -r '.workflow_runs[0].id // empty' <<< "$runs")
if [ -z "$run" ]; then
  echo "::error::no successful $workflow run for commit $head of pull request #$pr: nothing reviewed to apply"
  exit 1
fi
echo "run-id=$run" >> "$GITHUB_OUTPUT"
echo "artifact=${ARTIFACT:-calmctl-plan}-$head" >> "$GITHUB_OUTPUT"
echo "pr=$pr" >> "$GITHUB_OUTPUT"
echo "pull request #$pr: applying the plan of run $run (commit $head)"
