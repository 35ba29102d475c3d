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

for agreement in $SAMPLES/agreements/*.toml; do
  step "aurora agreements apply $agreement"
  $A agreements apply "$agreement"
done

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

step "aurora commissions show --chain solana-mainnet --period 850  (every partner's lines)"
$A commissions show --chain solana-mainnet --period 850
step "aurora commissions show --chain ethereum-mainnet --period 2025-06-01"
$A commissions show --chain ethereum-mainnet --period 2025-06-01

# September's last epoch is not final yet (finality lag 1): the statement says so in its metadata.
step "aurora statements generate --chain solana-mainnet --month 2025-09 --allow-unfinalized"
$A statements generate --chain solana-mainnet --month 2025-09 --allow-unfinalized

PARTNER="Helios Capital"
status=$($A --format json statements list --chain solana-mainnet --month 2025-09 --partner "$PARTNER" \
         | $PY -c 'import json, sys; print(" ".join(sorted({s["status"] for s in json.load(sys.stdin)})))')
if [ "$status" = "DRAFT" ]; then
  step "four eyes: demo-admin submits, demo-finance approves, demo-admin releases"
  if ! $A --quiet users list --format json | grep -q '"demo-finance"'; then
    printf '%s\n' "$PASSWORD" | $A --quiet users add --username demo-finance --email finance@aurora.example \
      --role FINANCE --password-stdin
  fi
  FINANCE_TOKEN=$($A users token create --user demo-finance --expires-days 1 --name demo 2>/dev/null)
  $A statements submit --partner "$PARTNER" --chain solana-mainnet --month 2025-09
  AURORA_TOKEN=$FINANCE_TOKEN $A approve --partner "$PARTNER" --chain solana-mainnet --month 2025-09
  $A statements release --partner "$PARTNER" --chain solana-mainnet --month 2025-09
else
  echo "(the $PARTNER statements are already $status)" >&2
fi
step "aurora statements list --chain solana-mainnet --month 2025-09"
$A statements list --chain solana-mainnet --month 2025-09

mkdir -p out
step "aurora export statement --partner \"$PARTNER\" --chain solana-mainnet --month 2025-09 (CSV and PDF)"
$A export statement --partner "$PARTNER" --chain solana-mainnet --month 2025-09 --format csv \
  --out out/helios-capital-solana-2025-09.csv
$A export statement --partner "$PARTNER" --chain solana-mainnet --month 2025-09 --format pdf \
  --out out/helios-capital-solana-2025-09.pdf
step "aurora export statement ... --format pack (PDF, lines.csv, summary.csv, statement.json, SHA256SUMS)"
$A export statement --partner "$PARTNER" --chain solana-mainnet --month 2025-09 --format pack \
  --out out/helios-capital-solana-2025-09
(cd out/helios-capital-solana-2025-09 && sha256sum -c SHA256SUMS)
step "aurora statements verify out/helios-capital-solana-2025-09"
$A statements verify out/helios-capital-solana-2025-09

step "aurora db status"
$A db status
printf '\nPartner statement written:\n  %s\n  %s\n  %s/\n' "$PWD/out/helios-capital-solana-2025-09.csv" \
  "$PWD/out/helios-capital-solana-2025-09.pdf" "$PWD/out/helios-capital-solana-2025-09"
