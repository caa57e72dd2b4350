#!/usr/bin/env bash
# Mints the job's OIDC token (needs `permissions: id-token: write`) for Cloud Foundry's
# jwt-bearer grant and puts it, masked, into the environment variable calm.yaml names
# (`cloudfoundry: { assertion: { env: NAME } }`): no stored Cloud Foundry password.
#
# Environment: OIDC_TOKEN_ENV (the variable's name), OIDC_AUDIENCE, and the runner's
# ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN.
set -euo pipefail

name="${OIDC_TOKEN_ENV:?the variable to set}"
if [[ ! "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "::error::oidc-token-env '$name' is not a variable name"
  exit 1
fi
if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
  echo "::error::no OIDC token can be requested: give the job 'permissions: id-token: write'"
  exit 1
fi
token=$(curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=${OIDC_AUDIENCE:-cf}" | jq -r .value)
if [ -z "$token" ] || [ "$token" = null ]; then
  echo "::error::the OIDC token request returned no token"
  exit 1
fi
echo "::add-mask::$token"
echo "$name=$token" >> "$GITHUB_ENV"
