#!/usr/bin/env bash
# The offline demo: embedded database, configuration, an admin, then the pipeline on the samples.
set -euo pipefail
cd "$(dirname "$0")/.."
A=.venv/bin/aurora
PASSWORD=demo-password-123

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "aurora db up"
$A db up
step "aurora users bootstrap-admin (skipped when users exist)"
if ! printf '%s\n' "$PASSWORD" | $A --quiet users bootstrap-admin --username demo-admin \
     --email admin@aurora.example --password-stdin 2>/dev/null; then
  echo "(admin already exists)" >&2
fi
step "aurora login"
printf '%s\n' "$PASSWORD" | $A login --username demo-admin --password-stdin
step "aurora config apply"
$A config apply
step "aurora --help"
$A --help
step "aurora db status"
$A db status
