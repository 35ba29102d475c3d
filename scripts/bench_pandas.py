"""The reference a user would write instead of Aurora: P&L per validator from one import file with pandas.

Run in its own venv (`make bench` creates .venv-bench with pandas). Exact: amounts are summed as
Python ints (the file's amounts are integers in base units), so the figures match `aurora pnl show`.
Prints one JSON object: validators and the total revenue over all of them.
"""

from __future__ import annotations

import json
import sys

import pandas as pd


def main(path: str) -> None:
    frame = pd.read_json(path, lines=True, dtype=False)
    for column in ("total_fees_native", "total_mev_native", "rewards_native", "commission_native"):
        if column in frame:
            frame[column] = frame[column].map(lambda v: int(v) if isinstance(v, str) else 0)
    rewards = frame[frame["data_type"] == "REWARDS"]
    vote = rewards[rewards["staker_address"].isna()].groupby("validator_key")["rewards_native"].sum()
    commission = rewards.groupby("validator_key")["commission_native"].sum()
    fees = frame[frame["data_type"] == "FEES"].groupby("validator_key")["total_fees_native"].sum()
    mev = frame[frame["data_type"] == "MEV"].groupby("validator_key")["total_mev_native"].sum()
    pnl = pd.concat({"fees": fees, "mev": mev, "vote": vote, "commission": commission}, axis=1).fillna(0)
    total = sum(int(v) for v in pnl.sum(axis=1, numeric_only=False))
    print(json.dumps({"validators": len(pnl), "total_revenue_native": str(total)}))


if __name__ == "__main__":
    main(sys.argv[1])
