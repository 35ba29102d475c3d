"""compute-commissions reads the current period only, however many earlier periods exist (issue 11).

Given four consecutive Solana epochs of the same validators and stakers (3 × 300, so every staker an
agreement attributes has a reward row in every epoch) ingested, normalized and P&L'd as aurora_app,
and six agreements applied: when the partner-sums and validator-inputs statements of
compute-commissions are run under EXPLAIN (ANALYZE, FORMAT JSON) for the last epoch, then the only
part of `canonical_stake_rewards` they read is that epoch's partition (the earlier three are pruned),
and the partner sums examine at most that epoch's rows there; the same holds for the first epoch,
so the work does not grow with history. compute-commissions itself then writes the last epoch's
lines only.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aurora_cli.db.engine import transaction
from aurora_cli.devtools.synthetic import write_dataset
from aurora_cli.domain.agreement_file import load_agreement_file
from aurora_cli.services import agreements, ingest, normalize, pnl
from aurora_cli.services.commissions import engine as commissions
from aurora_cli.services.config_apply import apply_config, read_config

SOL = "solana-mainnet"
EPOCHS = ("850", "851", "852", "853")
VALIDATORS, DELEGATORS = 3, 300
ROWS_PER_EPOCH = VALIDATORS * (DELEGATORS + 1)


@pytest.fixture
def history(engine, repo, tmp_path):
    """Four normalized epochs with P&L and six agreements; {epoch: period row}."""
    dataset = write_dataset(
        tmp_path / "data",
        chain=SOL,
        validators=VALIDATORS,
        delegators_per_validator=DELEGATORS,
        periods=len(EPOCHS),
        agreements=6,
        seed=11,
        first_period=EPOCHS[0],
    )
    periods = {}
    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        for n, epoch in enumerate(EPOCHS):
            periods[epoch] = session.execute(
                text(
                    "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end,"
                    " is_finalized) VALUES (:c, :p, :s, :e, true) RETURNING period_id, period_start"
                ),
                {"c": SOL, "p": epoch, "s": f"2025-09-{1 + 2 * n:02d}", "e": f"2025-09-{3 + 2 * n:02d}"},
            ).one()
    for epoch in EPOCHS:
        ingest.ingest_file(
            engine, chain_id=SOL, period=epoch, path=tmp_path / "data" / f"{SOL}_{epoch}.jsonl"
        )
        with transaction(engine) as session:
            normalize.normalize(session, SOL, epoch)
        with transaction(engine) as session:
            pnl.compute_pnl(session, SOL, epoch)
    files = [
        (p.name, load_agreement_file(p))
        for p in agreements.agreement_paths([tmp_path / "data" / "agreements"])
    ]
    with transaction(engine) as session:
        agreements.apply_agreements(session, files)
    assert len(dataset.periods) == len(EPOCHS)
    return periods


def _scans(plan: dict) -> list[dict]:
    """Every node of the plan tree that reads a relation."""
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def _reads_of_rewards(session, statement, period) -> tuple[set[str], int]:
    """The partitions of canonical_stake_rewards the statement reads, and the rows it examines there."""
    params = {"chain_id": SOL, "period_id": period.period_id, "period_start": period.period_start}
    (doc,) = session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + statement.text), params).scalar()
    scans = [s for s in _scans(doc["Plan"]) if s["Relation Name"].startswith("canonical_stake_rewards")]
    examined = sum(
        (s["Actual Rows"] + s.get("Rows Removed by Filter", 0) + s.get("Rows Removed by Index Recheck", 0))
        * s["Actual Loops"]
        for s in scans
    )
    return {s["Relation Name"] for s in scans}, examined


def _partition(period) -> str:
    return f"canonical_stake_rewards_{str(period.period_id).replace('-', '')}"


# The partner sums read each of the period's reward rows at most once. The validator inputs may be
# planned as a nested loop that regroups the period's rows per validator (on small tables): still the
# period's partition only, and the same work for the first epoch as for the fourth.
@pytest.mark.parametrize(
    ("statement", "most_rows"),
    [("_SELECT_PARTNER_SUMS", ROWS_PER_EPOCH), ("_SELECT_VALIDATOR_INPUTS", VALIDATORS * ROWS_PER_EPOCH)],
)
def test_the_commission_reads_touch_the_current_periods_partition_only(engine, history, statement, most_rows):
    query = getattr(commissions, statement)
    with transaction(engine) as session:
        total = session.execute(text("SELECT count(*) FROM canonical_stake_rewards")).scalar()
        assert total == len(EPOCHS) * ROWS_PER_EPOCH  # the history is really there
        examined = {}
        for epoch in (EPOCHS[0], EPOCHS[-1]):
            read, examined[epoch] = _reads_of_rewards(session, query, history[epoch])
            assert read == {_partition(history[epoch])}, f"{statement} for {epoch} reads {read}"
            assert 0 < examined[epoch] <= most_rows
    # Three earlier epochs cost the last one nothing: it examines what the first one does.
    assert examined[EPOCHS[-1]] == examined[EPOCHS[0]]


def test_compute_commissions_writes_the_current_periods_lines_only(engine, history):
    last = history[EPOCHS[-1]]
    with transaction(engine) as session:
        result = commissions.compute_commissions(session, SOL, EPOCHS[-1])
    assert result.agreements == 6
    with transaction(engine) as session:
        lines = session.execute(
            text("SELECT period_id, count(*) FROM partner_commission_lines GROUP BY period_id")
        ).all()
        positive = session.execute(
            text(
                "SELECT count(*) FROM partner_commission_lines WHERE period_id = :p AND base_amount_native > 0"
            ),
            {"p": last.period_id},
        ).scalar()
    assert [p for p, _ in lines] == [last.period_id]
    assert positive > 0  # the attributed stakers' rows of this epoch were found
