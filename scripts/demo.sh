#!/usr/bin/env bash
# The offline demo (`make demo`): the embedded database, configuration, an admin, then the whole
# pipeline on the bundled sample data. Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
A=.venv/bin/aurora
PY=.venv/bin/python
PASSWORD=demo-password-123
SAMPLES=config/samples

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "aurora db up"
$A db up
step "aurora users bootstrap-admin (skipped when users exist)"
if ! printf '%s\n' "$PASSWORD" | $A --quiet users bootstrap-admin --username demo-admin \
     --email admin@aurora.example --password-stdin 2>/dev/null; then
  echo "(an admin already exists)" >&2
fi
step "aurora login"
printf '%s\n' "$PASSWORD" | $A login --username demo-admin --password-stdin
step "aurora config apply"
$A config apply

# chain, period, start, end, file — one line per sample period.
periods=$($PY - <<'PYEOF'
import tomllib
for p in tomllib.load(open("config/samples/periods.toml", "rb"))["periods"]:
    print(p["chain"], p["period"], p["start"], p["end"], p["file"])
PYEOF
)
while read -r chain period start end file; do
  if [ "$chain" = "solana-mainnet" ]; then
    $A --quiet periods add --chain "$chain" --period "$period" --start "$start" --end "$end"
  fi
  step "aurora run --chain $chain --period $period --file $SAMPLES/$file"
  $A run --chain "$chain" --period "$period" --file "$SAMPLES/$file"
done <<< "$periods"

step "aurora periods finalize"
$A periods finalize --chain solana-mainnet
$A periods finalize --chain ethereum-mainnet

step "aurora pnl show --chain solana-mainnet"
$A pnl show --chain solana-mainnet
step "aurora pnl show --chain ethereum-mainnet"
$A pnl show --chain ethereum-mainnet
step "aurora db status"
$A db status
