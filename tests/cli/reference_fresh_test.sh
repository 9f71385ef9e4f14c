#!/usr/bin/env bash
# docs/config-reference.md must be what `switchboard config reference` prints now.
# Usage: reference_fresh_test.sh SWITCHBOARD REFERENCE.md
set -u
if ! diff -u "$2" <(env -u SWITCHBOARD_PLUGIN_PATH "$1" config reference); then
  echo "docs/config-reference.md is stale: run 'make docs' and commit the result"
  exit 1
fi
echo "ok: docs/config-reference.md is current"
