#!/usr/bin/env bash
# Which calmctl the action installs: the commit of the requested ref (default: the action's own
# ref) in the action's repository. The commit, not the ref, keys the binary cache, so a moved tag
# or branch installs anew and an unchanged one is restored from the cache instead of compiled.
#
# Environment: CALMCTL_REPOSITORY (https URL or a local path), CALMCTL_REF; writes `rev` and
# `repository` to $GITHUB_OUTPUT.
set -euo pipefail

repository="${CALMCTL_REPOSITORY:?the action repository}"
ref="${CALMCTL_REF:-main}"
if [[ "$ref" =~ ^[0-9a-f]{40}$ ]]; then
  rev="$ref"
else
  rev=$(git ls-remote "$repository" "refs/tags/$ref" "refs/heads/$ref" | head -n 1 | cut -f 1)
  if [[ ! "$rev" =~ ^[0-9a-f]{40}$ ]]; then
    echo "::error::calmctl-version '$ref' is neither a commit nor a tag or branch of $repository"
    exit 1
  fi
fi
echo "rev=$rev" >> "$GITHUB_OUTPUT"
echo "repository=$repository" >> "$GITHUB_OUTPUT"
echo "calmctl $ref is commit $rev"
