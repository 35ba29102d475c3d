"""A failure in the middle of a step leaves the canonical and P&L layers as they were, and
normalization picks the highest-priority provider that has data."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import ChainProviderMapping, Provider
from aurora_cli.providers import base
from aurora_cli.providers.file import FileAdapter, file_payload
from aurora_cli.services import ingest, normalize, pipeline, pnl
from aurora_cli.services.audit import AuditTrail
from aurora_cli.services.config_apply import apply_config, read_config
from tests.validator_keys import solana_key

SOL = "solana-mainnet"
V1 = solana_key("V1")


def no_audit(*_args, **_kwargs) -> None:
    return None


@pytest.fixture
def seeded(engine, repo, tmp_path):
    with transaction(engine) as session:
        apply_config(session, read_config(repo / "config"))
        session.execute(
            text(
                "INSERT INTO canonical_periods (chain_id, period_identifier, period_start, period_end)"
                " VALUES ('solana-mainnet', '850', '2025-09-01T00:00:00Z', '2025-09-03T01:12:00Z')"
            )
        )
    return engine


def fees_line(amount: str) -> str:
    return (
        json.dumps({"data_type": "FEES", "validator_key": V1, "total_fees_native": amount, "fee_count": 1})
        + "\n"
    )


def reward_line(staker: str, amount: str) -> str:
    record = {
        "data_type": "REWARDS",
        "validator_key": V1,
        "staker_address": staker,
        "rewards_native": amount,
        "commission_native": "0",
    }
    return json.dumps(record) + "\n"


def load(engine, tmp_path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    pipeline.run_ingest_file(engine, no_audit, chain_id=SOL, period="850", path=path, strict=True)
    pipeline.run_normalize(engine, no_audit, chain_id=SOL, period="850")
    pipeline.run_compute_pnl(engine, no_audit, chain_id=SOL, period="850")


def state(engine) -> tuple:
    with transaction(engine) as session:
        return (
            session.execute(
                text("SELECT validator_key, total_fees_native FROM canonical_validator_fees")
            ).all(),
            session.execute(
                text("SELECT staker_address, rewards_native FROM canonical_stake_rewards ORDER BY 1")
            ).all(),
            session.execute(text("SELECT validator_key, total_revenue_native FROM validator_pnl")).all(),
        )


def test_a_crash_mid_normalize_keeps_the_previous_canonical_rows(seeded, tmp_path, monkeypatch):
    load(seeded, tmp_path, "a.jsonl", fees_line("100") + reward_line("S1", "7"))
    before = state(seeded)
    assert before[0] == [(V1, Decimal(100))]

    (tmp_path / "b.jsonl").write_text(fees_line("999") + reward_line("S2", "8"))
    pipeline.run_ingest_file(
        seeded, no_audit, chain_id=SOL, period="850", path=tmp_path / "b.jsonl", strict=True
    )

    real_replace = normalize._replace_reward_sets

    def crash_after_rewards(session, params):
        real_replace(session, params)  # fees upserted, old rewards deleted, new ones inserted by now
        raise RuntimeError("killed mid-run")

    monkeypatch.setattr(normalize, "_replace_reward_sets", crash_after_rewards)
    with pytest.raises(RuntimeError):
        pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    assert state(seeded) == before

    monkeypatch.setattr(normalize, "_replace_reward_sets", real_replace)
    pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    assert state(seeded)[1] == [("S2", Decimal(8))]


def test_a_crash_mid_pnl_keeps_the_previous_pnl(seeded, tmp_path, monkeypatch):
    load(seeded, tmp_path, "a.jsonl", fees_line("100"))
    (tmp_path / "b.jsonl").write_text(fees_line("250"))
    pipeline.run_ingest_file(
        seeded, no_audit, chain_id=SOL, period="850", path=tmp_path / "b.jsonl", strict=True
    )
    pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    before = state(seeded)[2]

    def crash_after_upsert(session, chain_id, period):
        session.execute(
            pnl._UPSERT_PNL,
            {"chain_id": chain_id, "period_id": pnl.get_period(session, chain_id, period).period_id},
        )
        raise RuntimeError("killed before the view refresh")

    monkeypatch.setattr(pnl, "compute_pnl", crash_after_upsert)
    with pytest.raises(RuntimeError):
        pipeline.run_compute_pnl(seeded, no_audit, chain_id=SOL, period="850")
    assert state(seeded)[2] == before == [(V1, Decimal(100))]


class VendorAdapter(FileAdapter):
    """A second provider serving the same payload shape, for priority resolution."""

    name = "vendor-x"


def test_normalize_prefers_the_highest_priority_provider_with_data(seeded, tmp_path):
    base.register(VendorAdapter())
    with transaction(seeded) as session:
        vendor = Provider(provider_name="vendor-x", provider_type="FEES")
        session.add(vendor)
        session.flush()
        session.add(
            ChainProviderMapping(
                chain_id=SOL, provider_id=vendor.provider_id, provider_role="FEES", priority=5
            )
        )
    load(seeded, tmp_path, "file.jsonl", fees_line("100") + reward_line("S1", "7"))
    assert state(seeded)[0] == [(V1, Decimal(100))]  # the vendor has no data yet: the file provider serves

    with transaction(seeded) as session:
        vendor = session.scalar(select(Provider).where(Provider.provider_name == "vendor-x"))
        period_id = session.execute(text("SELECT period_id FROM canonical_periods")).scalar()
        run = ingest.start_run(session, SOL, period_id, vendor, {})
        payload = file_payload(
            [{"data_type": "FEES", "validator_key": V1, "total_fees_native": "200", "fee_count": 3}]
        )
        assert ingest.stage_payload(session, run, vendor.provider_id, V1, "FEES", payload) is True
        # The same response again is not stored twice.
        assert ingest.stage_payload(session, run, vendor.provider_id, V1, "FEES", payload) is False
        ingest.finish_run(session, run.run_id, status="SUCCESS", fetched=1, staged=1)
    result = pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    assert result.summary["sources"] == {"vendor-x": 1, "file": 1}
    with transaction(seeded) as session:
        row = session.execute(
            text(
                "SELECT f.total_fees_native, p.provider_name FROM canonical_validator_fees f"
                " JOIN providers p ON p.provider_id = f.source_provider_id"
            )
        ).one()
    assert row == (Decimal(200), "vendor-x")

    # Deactivate the vendor's mapping: the file provider's payload is the truth again.
    with transaction(seeded) as session:
        session.execute(
            text(
                "UPDATE chain_provider_mappings SET is_active = false WHERE priority = 5"
                " AND provider_role = 'FEES' AND chain_id = 'solana-mainnet'"
            )
        )
    pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    assert state(seeded)[0] == [(V1, Decimal(100))]


def test_an_invalid_payload_is_reported_and_the_rest_normalized(seeded, tmp_path):
    load(seeded, tmp_path, "a.jsonl", fees_line("100") + reward_line("S1", "7"))
    with transaction(seeded) as session:
        provider_id = session.scalar(select(Provider.provider_id).where(Provider.provider_name == "file"))
        period_id = session.execute(text("SELECT period_id FROM canonical_periods")).scalar()
        file_provider = session.get(Provider, provider_id)
        run = ingest.start_run(session, SOL, period_id, file_provider, {})
        broken = {
            "records": [
                {
                    "data_type": "REWARDS",
                    "validator_key": V1,
                    "staker_address": "S1",
                    "rewards_native": "5",
                    "commission_native": "0",
                },
                {
                    "data_type": "REWARDS",
                    "validator_key": V1,
                    "staker_address": "S1",
                    "rewards_native": "6",
                    "commission_native": "0",
                },
            ]
        }
        ingest.stage_payload(session, run, provider_id, V1, "REWARDS", broken)
        bad_id = session.execute(
            text("SELECT payload_id FROM staging_payloads WHERE run_id = :r"), {"r": run.run_id}
        ).scalar()
    report = pipeline.run_normalize(seeded, no_audit, chain_id=SOL, period="850")
    assert report.outcome is pipeline.StepOutcome.PARTIAL
    (invalid,) = report.summary["invalid_payloads"]
    assert invalid["payload_id"] == bad_id and "staker S1 appears more than once" in invalid["reason"]
    assert isinstance(invalid["payload_id"], uuid.UUID)
    # Fees still normalized; the previous reward set stands.
    assert state(seeded)[0] == [(V1, Decimal(100))]
    assert state(seeded)[1] == [("S1", Decimal(7))]


def test_run_period_without_the_cli_stops_before_commissions_for_ops(seeded, tmp_path):
    """Given an OPS caller, when a script runs the whole period pipeline, then the data steps run,
    each audited under the caller's correlation id, and the run stops before compute-commissions."""
    path = tmp_path / "a.jsonl"
    path.write_text(fees_line("100") + reward_line("S1", "7"))
    trail = AuditTrail(uuid.uuid4())
    work = pipeline.PeriodWork(seeded, trail, SOL, "850", file=path)
    run = pipeline.run_period(work, role="OPS", lock_timeout_seconds=5)
    assert [r.step for r in run.reports] == ["ingest", "normalize", "compute-pnl"]
    assert run.withheld is pipeline.COMPUTE_COMMISSIONS and run.outcome is pipeline.StepOutcome.OK
    with transaction(seeded) as session:
        actions = (
            session.execute(
                text("SELECT action::text FROM audit_log WHERE correlation_id = :c ORDER BY seq"),
                {"c": trail.correlation_id},
            )
            .scalars()
            .all()
        )
    assert actions == ["INGESTION_RUN", "NORMALIZATION_RUN", "PNL_COMPUTE"]
