#!/usr/bin/env bash
# The plan as a sticky, split pull-request comment: calmctl's earlier comments (their body starts
# with `<!-- calmctl plan`) are edited in place, part by part, extra ones deleted and missing ones
# added, so a pull request shows one current plan however often it is pushed.
#
# Environment: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, PR_NUMBER, PLAN_DIR.
set -euo pipefail

api="${GITHUB_API_URL:-https://api.github.com}"
repo="${GITHUB_REPOSITORY:?owner/name}"
pr="${PR_NUMBER:?the pull request number}"
dir="${PLAN_DIR:-calmctl-plan}"
headers=(-H "Authorization: Bearer ${GITHUB_TOKEN:?a token that may write pull-request comments}"
  -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28")
call() { curl -sSf --retry 3 "${headers[@]}" "$@"; }

# calmctl's comments, oldest first (the API lists them so), over every page.
old=()
page=1
while :; do
  list=$(call "$api/repos/$repo/issues/$pr/comments?per_page=100&page=$page")
  while read -r id; do
    [ -n "$id" ] && old+=("$id")
  done < <(jq -r '.[] | select(.body | startswith("<!-- calmctl plan")) | .id' <<< "$list")
  [ "$(jq length <<< "$list")" -lt 100 ] && break
  page=$((page + 1))
done

parts=()
while IFS= read -r part; do parts+=("$part"); done < <(ls "$dir"/comment/plan-*.md | sort -V)
if [ "${#parts[@]}" -eq 0 ]; then
  echo "::error::no plan parts in $dir/comment"
  exit 1
fi
for i in "${!parts[@]}"; do
  body=$(jq -Rs '{body: .}' < "${parts[$i]}")
  if [ "$i" -lt "${#old[@]}" ]; then
    call -X PATCH "$api/repos/$repo/issues/comments/${old[$i]}" -d "$body" > /dev/null
    echo "updated comment ${old[$i]} with part $((i + 1)) of ${#parts[@]}"
  else
    call -X POST "$api/repos/$repo/issues/$pr/comments" -d "$body" > /dev/null
    echo "added part $((i + 1)) of ${#parts[@]}"
  fi
done
for id in "${old[@]:${#parts[@]}}"; do
  call -X DELETE "$api/repos/$repo/issues/comments/$id" > /dev/null
  echo "deleted the earlier part in comment $id"
done
