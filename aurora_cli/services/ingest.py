"""Ingestion (SPEC §4): provider data into `staging_payloads`, unmodified, hashed, under a run.

Owns the run lifecycle (RUNNING → SUCCESS / PARTIAL / FAILED), the staging hash (SHA-256 of the
canonical JSON), and skipping a payload whose hash equals the latest staged one for the same
(chain, period, validator, data type, provider). Per-item staging (`stage_payload`) serves HTTP
adapters; the file importer streams lines through COPY and groups them set-based in SQL, so memory
stays flat however large the file is. Lines that break the file-level rules normalization would
reject the payload for (a second FEES/MEV/META record or REWARDS staker for a validator, commission
both per delegator and in aggregate) are invalid lines like parse errors, found in SQL too, and so are
lines whose semantics are wrong (a commission above the rewards, a validator key not well-formed for
the chain). A refused file leaves no new period behind: a period this import would create is
created in the load transaction, and the refusal is then a FAILED run without a period. Writes
the run's audit row through the caller's trail. Never prints or names a flag; progress goes through a
callback.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from aurora_cli.db.engine import transaction
from aurora_cli.db.models import CanonicalPeriod, ChainProviderMapping, IngestionRun, Provider, StagingPayload
from aurora_cli.domain.canonical_json import canonical_json, sha256_hex
from aurora_cli.domain.validator_keys import chain_family, validator_key_problem
from aurora_cli.errors import InvalidInput, NotFound, param
from aurora_cli.providers import file as file_provider
from aurora_cli.providers.file_format import (
    AnyRecord,
    LineError,
    RawLine,
    RewardsRecord,
    explain_raw_line,
    fast_rewards_sql,
    record_payload,
    scan_import_file,
)
from aurora_cli.services.audit import Recorder
from aurora_cli.services.periods import (
    check_identifier,
    derived_bounds,
    find_period,
    get_chain,
    get_period,
    resolve_period,
)
from aurora_cli.services.progress import Progress

MAX_REPORTED_ERRORS = 50


@dataclass
class IngestResult:
    run_id: uuid.UUID
    chain_id: str
    period: str
    provider: str
    status: str
    lines_read: int = 0
    payloads: int = 0
    staged: int = 0
    unchanged: int = 0
    invalid_lines: list[tuple[int, str]] = field(default_factory=list)
    invalid_count: int = 0
    new_validators: list[str] = field(default_factory=list)
    period_created: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "chain_id": self.chain_id,
            "period_identifier": self.period,
            "provider": self.provider,
            "status": self.status,
            "lines_read": self.lines_read,
            "payloads": self.payloads,
            "staged": self.staged,
            "unchanged": self.unchanged,
            "invalid_lines": self.invalid_count,
            "new_validators": self.new_validators,
        }


# -- the run lifecycle, shared by every provider -----------------------------------------------


def provider_for_chain(session: Session, chain_id: str, provider_name: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.provider_name == provider_name))
    if provider is None:
        raise NotFound(f"unknown provider {provider_name!r}: run `aurora config apply`.")
    if not provider.is_enabled:
        raise InvalidInput(f"provider {provider_name!r} is disabled in providers.toml.")
    mapped = session.scalar(
        select(ChainProviderMapping.mapping_id).where(
            ChainProviderMapping.chain_id == chain_id,
            ChainProviderMapping.provider_id == provider.provider_id,
            ChainProviderMapping.is_active.is_(True),
        )
    )
    if mapped is None:
        raise InvalidInput(
            f"provider {provider_name!r} is not mapped to {chain_id}: add a mapping in providers.toml."
        )
    return provider


ABANDONED_MESSAGE = "abandoned: the process ended before the run finished"

# A run still RUNNING when a new one starts for the same (chain, period, provider) belongs to a
# process that died (SIGKILL, power loss): runs start under the pipeline's advisory lock on the
# (chain, period), so no other live run of it can exist.
_ABANDON_STALE_RUNS = text(
    """
    UPDATE ingestion_runs
    SET status = 'FAILED', error_message = :message, completed_at = now(), updated_at = now()
    WHERE chain_id = :chain_id AND period_id = :period_id AND status = 'RUNNING'
      AND metadata->>'provider' = :provider
    RETURNING run_id
    """
)


def start_run(
    session: Session,
    chain_id: str,
    period_id: uuid.UUID,
    provider: Provider,
    metadata: dict,
    *,
    run_id: uuid.UUID | None = None,
) -> IngestionRun:
    """A new RUNNING run; any older run of (chain, period, provider) left RUNNING is marked FAILED.

    Call under the pipeline's period lock (`pipeline.run_period` takes it), in the run's own first transaction.
    """
    abandoned = session.scalars(
        _ABANDON_STALE_RUNS,
        {
            "message": ABANDONED_MESSAGE,
            "chain_id": chain_id,
            "period_id": period_id,
            "provider": provider.provider_name,
        },
    ).all()
    extra: dict[str, Any] = {"abandoned_runs": sorted(str(r) for r in abandoned)} if abandoned else {}
    run = IngestionRun(
        **({"run_id": run_id} if run_id is not None else {}),
        chain_id=chain_id,
        period_id=period_id,
        status="RUNNING",
        started_at=datetime.now(UTC),
        metadata_={"provider": provider.provider_name, **metadata, **extra},
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run_id: uuid.UUID,
    *,
    status: str,
    fetched: int,
    staged: int,
    error_message: str | None = None,
    metadata: dict | None = None,
) -> None:
    run = session.get(IngestionRun, run_id)
    assert run is not None
    run.status = status
    run.records_fetched = fetched
    run.records_staged = staged
    run.error_message = error_message
    run.completed_at = datetime.now(UTC)
    run.updated_at = run.completed_at
    if metadata:
        run.metadata_ = {**(run.metadata_ or {}), **metadata}


def fail_run(engine: Engine, run_id: uuid.UUID, message: str, metadata: dict | None = None) -> None:
    with transaction(engine) as session:
        finish_run(
            session, run_id, status="FAILED", fetched=0, staged=0, error_message=message, metadata=metadata
        )


def latest_hash(
    session: Session,
    chain_id: str,
    period_id: uuid.UUID,
    validator_key: str,
    data_type: str,
    provider_id: uuid.UUID,
) -> str | None:
    return session.scalar(
        select(StagingPayload.response_hash)
        .where(
            StagingPayload.chain_id == chain_id,
            StagingPayload.period_id == period_id,
            StagingPayload.validator_key == validator_key,
            StagingPayload.data_type == data_type,
            StagingPayload.provider_id == provider_id,
        )
        .order_by(StagingPayload.fetch_timestamp.desc(), StagingPayload.created_at.desc())
        .limit(1)
    )


def stage_payload(
    session: Session,
    run: IngestionRun,
    provider_id: uuid.UUID,
    validator_key: str,
    data_type: str,
    payload: Any,
) -> bool:
    """Stage one fetched item unless it equals the latest staged one; returns True when stored."""
    digest = sha256_hex(payload)
    if latest_hash(session, run.chain_id, run.period_id, validator_key, data_type, provider_id) == digest:
        return False
    session.add(
        StagingPayload(
            run_id=run.run_id,
            chain_id=run.chain_id,
            period_id=run.period_id,
            validator_key=validator_key,
            provider_id=provider_id,
            data_type=data_type,
            response_hash=digest,
            raw_payload=payload,
        )
    )
    session.flush()
    return True


# -- the file provider: streamed, bulk, set-based ------------------------------------------------

# A REWARDS line of the common layout is COPY'd as its fields only (``record`` null): its canonical
# JSON is spelled here, as ``file_format.fast_rewards_record`` would, from the amounts' numeric text
# (FAST_REWARDS_LINE admits only amounts that numeric prints back digit for digit).
_FAST_RECORD = (
    """'{"commission_native":"' || commission_native::text || '","data_type":"REWARDS","rewards_native":"'"""
    """ || rewards_native::text || '","staker_address":' || coalesce('"' || staker_address || '"', 'null')"""
    """ || ',"validator_key":"' || validator_key || '"}'"""
)
_GROUP_AND_STAGE = text(
    """
    WITH groups AS (
        SELECT validator_key, data_type,
               '{"records":[' || string_agg(coalesce(record, {FAST_RECORD}), ',' ORDER BY line_no) || ']}' AS body
        FROM import_lines
        GROUP BY validator_key, data_type
    ), hashed AS (
        SELECT g.validator_key, g.data_type, g.body,
               encode(sha256(convert_to(g.body, 'UTF8')), 'hex') AS response_hash
        FROM groups g
    ), fresh AS (
        SELECT h.* FROM hashed h
        WHERE h.response_hash IS DISTINCT FROM (
            SELECT sp.response_hash FROM staging_payloads sp
            WHERE sp.chain_id = :chain_id AND sp.period_id = :period_id
              AND sp.validator_key = h.validator_key AND sp.data_type = h.data_type::data_type
              AND sp.provider_id = :provider_id
            ORDER BY sp.fetch_timestamp DESC, sp.created_at DESC
            LIMIT 1
        )
    ), inserted AS (
        INSERT INTO staging_payloads
            (run_id, chain_id, period_id, validator_key, provider_id, data_type, response_hash, raw_payload)
        SELECT :run_id, :chain_id, :period_id, validator_key, :provider_id, data_type::data_type,
               response_hash, body::jsonb
        FROM fresh
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM hashed) AS payloads, (SELECT count(*) FROM inserted) AS staged
    """.replace("{FAST_RECORD}", _FAST_RECORD)
)

# The file-level rules normalization enforces per payload (providers.file, providers.base
# check_reward_set), checked here over the whole file at once so a strict import refuses such a file before
# anything is staged: one FEES, MEV and META record per validator; one REWARDS record per
# (validator, staker_address), the validator-level row (staker_address null) included; commission
# per delegator or in aggregate, never both. A duplicate is reported from its second occurrence on
# (the first is kept); the mixed-commission rule is checked on the records that survive
# de-duplication and reports the aggregate row. At most one reason per line.
# Duplicate groups are found by hashing (no sort of the whole file); '' stands for a null
# staker_address in the group key, which no real address can be (addresses are non-empty).
_CHECK_FILE_RULES = text(
    """
    CREATE TEMP TABLE import_rule_errors ON COMMIT DROP AS
    WITH dup_groups AS (
        SELECT validator_key, data_type, coalesce(staker_address, '') AS staker_key,
               min(line_no) AS first_line
        FROM import_lines
        GROUP BY 1, 2, 3
        HAVING count(*) > 1
    ), duplicates AS MATERIALIZED (
        SELECT line_no, validator_key, data_type, staker_address, first_line, nth
        FROM (
            SELECT l.line_no, l.validator_key, l.data_type, l.staker_address, d.first_line,
                   row_number() OVER (
                       PARTITION BY d.validator_key, d.data_type, d.staker_key ORDER BY l.line_no
                   ) AS nth
            FROM import_lines l
            JOIN dup_groups d
              ON d.validator_key = l.validator_key AND d.data_type = l.data_type
             AND d.staker_key = coalesce(l.staker_address, '')
        ) grouped
        WHERE nth > 1
    ), commissioned AS (
        SELECT l.line_no, l.validator_key, l.staker_address
        FROM import_lines l
        WHERE l.data_type = 'REWARDS' AND l.commission_native > 0
          AND NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.line_no = l.line_no)
    ), per_delegator AS (
        SELECT validator_key, min(line_no) AS first_line
        FROM commissioned
        WHERE staker_address IS NOT NULL
        GROUP BY validator_key
    )
    SELECT line_no,
           CASE
               WHEN data_type <> 'REWARDS' THEN format(
                   '%s %s record for validator %s (first on line %s)',
                   ordinal, data_type, validator_key, first_line)
               WHEN staker_address IS NULL THEN format(
                   '%s validator-level REWARDS record (staker_address null) for validator %s'
                   ' (first on line %s)',
                   ordinal, validator_key, first_line)
               ELSE format(
                   '%s REWARDS record for staker %s of validator %s (first on line %s)',
                   ordinal, staker_address, validator_key, first_line)
           END AS reason
    FROM (
        SELECT *, CASE nth WHEN 2 THEN 'second' WHEN 3 THEN 'third' ELSE 'another' END AS ordinal
        FROM duplicates
    ) reported
    UNION ALL
    SELECT c.line_no,
           format(
               'aggregate commission on the validator-level REWARDS record of validator %s, which'
               ' also has commission per delegator (first on line %s); give one or the other',
               c.validator_key, p.first_line)
    FROM commissioned c JOIN per_delegator p USING (validator_key)
    WHERE c.staker_address IS NULL
    """
)

_REGISTER_VALIDATORS = text(
    """
    INSERT INTO canonical_validator_identities (chain_id, validator_key)
    SELECT DISTINCT :chain_id, validator_key FROM import_lines
    ON CONFLICT (chain_id, validator_key) DO NOTHING
    RETURNING validator_key
    """
)


def ingest_file(
    engine: Engine,
    *,
    chain_id: str,
    period: str,
    path: Path,
    strict: bool = True,
    on_progress: Progress | None = None,
    trail: Recorder | None = None,
) -> IngestResult:
    """Stage a JSON Lines import file; see the module docstring for the guarantees.

    The run's INGESTION_RUN audit row commits with the staged payloads (no `trail`: the bench).
    """
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist or is not a file.")
    run_metadata = {"file": str(path.resolve()), "strict": strict}
    with transaction(engine) as session:
        existing = _existing_period(session, chain_id, period)
        provider = provider_for_chain(session, chain_id, file_provider.NAME)
        provider_id = provider.provider_id
        if existing is not None:
            # The run is visible (RUNNING) while the file loads, and stays FAILED if it is refused.
            run = start_run(session, chain_id, existing.period_id, provider, run_metadata)
            run_id, period_id = run.run_id, existing.period_id
        else:
            # A new period is created in the load transaction below, with its run: a refused file
            # leaves neither behind; its refusal is recorded as a FAILED run without a period.
            run_id, period_id = uuid.uuid4(), None
    started_at = datetime.now(UTC)
    result = IngestResult(run_id, chain_id, period, file_provider.NAME, "RUNNING")

    try:
        with transaction(engine) as session:
            if period_id is None:
                period_row, result.period_created = resolve_period(session, chain_id, period)
                period_id = period_row.period_id
                start_run(session, chain_id, period_id, provider, run_metadata, run_id=run_id)
            _load_lines(session, path, result, on_progress)
            _check_lines(session, chain_id, result)
            _check_file_rules(session, result, drop=not strict)
            if result.invalid_count and strict:
                # Nothing of this file is staged: the transaction rolls back.
                raise _RefusedFile()
            if result.lines_read == result.invalid_count:
                raise InvalidInput(f"{path} has no valid records: nothing to stage.")
            params = {
                "chain_id": chain_id,
                "period_id": period_id,
                "provider_id": provider_id,
                "run_id": run_id,
            }
            result.new_validators = sorted(
                session.scalars(_REGISTER_VALIDATORS, {"chain_id": chain_id}).all()
            )
            payloads, staged = session.execute(_GROUP_AND_STAGE, params).one()
            result.payloads, result.staged, result.unchanged = payloads, staged, payloads - staged
            result.status = "PARTIAL" if result.invalid_count else "SUCCESS"
            finish_run(
                session,
                run_id,
                status=result.status,
                fetched=payloads,
                staged=staged,
                error_message=_errors_text(result) if result.invalid_count else None,
                metadata=_run_metadata(result),
            )
            if trail is not None:
                trail(
                    session,
                    action="INGESTION_RUN",
                    resource_type="ingestion_run",
                    resource_id=str(result.run_id),
                    after=result.summary(),
                )
    except _RefusedFile:
        result.status = "FAILED"
        _record_failure(engine, result, existing, provider, _errors_text(result), run_metadata, started_at)
        raise InvalidInput(
            f"{path} has {result.invalid_count} invalid line(s); nothing was staged "
            f"(fix them, or use {param('skip_invalid')} to stage the good records).",
            details=[(f"line {n}", reason) for n, reason in result.invalid_lines],
        ) from None
    except BaseException as exc:
        message = exc.message if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
        result.status = "FAILED"
        _record_failure(engine, result, existing, provider, message, run_metadata, started_at)
        raise
    return result


def _existing_period(session: Session, chain_id: str, identifier: str) -> CanonicalPeriod | None:
    """The registered period, or None when ingesting will create it (its bounds follow from the
    identifier); refuses an unknown chain, a malformed identifier or a period that cannot be created
    with the same sentences as ``periods.resolve_period``."""
    chain = get_chain(session, chain_id)
    check_identifier(chain, identifier)
    existing = find_period(session, chain_id, identifier)
    if existing is None and derived_bounds(chain, identifier) is None:
        raise NotFound(f"unknown period {identifier} of {chain_id}: add it with `aurora periods add`.")
    return existing


def _record_failure(
    engine: Engine,
    result: IngestResult,
    existing: CanonicalPeriod | None,
    provider: Provider,
    message: str,
    run_metadata: dict[str, Any],
    started_at: datetime,
) -> None:
    """The refused or failed run: FAILED against the period that existed before, or, when this
    invocation would have created the period (now rolled back), FAILED without a period, its
    identifier kept in the run's metadata so `runs list` still names it."""
    if existing is not None:
        fail_run(engine, result.run_id, message, _run_metadata(result))
        return
    result.period_created = False
    with transaction(engine) as session:
        now = datetime.now(UTC)
        session.add(
            IngestionRun(
                run_id=result.run_id,
                chain_id=result.chain_id,
                period_id=None,
                status="FAILED",
                started_at=started_at,
                completed_at=now,
                updated_at=now,
                records_fetched=0,
                records_staged=0,
                error_message=message,
                metadata_={
                    "provider": provider.provider_name,
                    **run_metadata,
                    "period_identifier": result.period,
                    "period_not_created": True,
                    **_run_metadata(result),
                },
            )
        )


class _RefusedFile(Exception):
    pass


def _count_lines(path: Path) -> int:
    """Lines in the file, read in 1 MiB chunks (fast, flat memory): the progress bar's total."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


# Every line as COPY'd, once: a record (validator_key set; ``record`` its canonical JSON) or a
# candidate REWARDS line left to the SQL check (validator_key null, ``line`` its text), which is
# replaced by its record or explained by the Python reader before anything else reads the table.
_IMPORT_TABLE = (
    "CREATE TEMP TABLE import_lines (line_no integer NOT NULL, validator_key text, data_type text,"
    " record text, staker_address text, rewards_native numeric, commission_native numeric, line text)"
    " ON COMMIT DROP"
)
_IMPORT_COLUMNS = "line_no, validator_key, data_type, record, staker_address, rewards_native, commission_native"
_COPY_BUFFER_BYTES = 1 << 20
# Sorting and hashing 10^5..10^6 lines (duplicate groups, payload grouping) in memory rather than in
# temp files; for this transaction only.
_WORK_MEM = "SET LOCAL work_mem = '256MB'"


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _load_lines(session: Session, path: Path, result: IngestResult, on_progress: Progress | None) -> None:
    """COPY the file's lines once into ``import_lines``, validated and extracted.

    REWARDS lines of the common layout are matched in the scan itself (``FAST_REWARDS_LINE``) and
    COPY'd as typed rows; other plain REWARDS lines go unparsed and are checked set-based by
    ``FAST_REWARDS_SQL``; the few it does not accept, and every other line, are parsed by the import
    format's own Python rules, so errors read exactly as they always have.
    """
    total_lines = _count_lines(path) if on_progress is not None else None
    session.execute(text(_IMPORT_TABLE))
    session.execute(text(_WORK_MEM))
    errors: list[tuple[int, str]] = []
    candidates = 0
    lines_read = invalid = 0
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur:
        with cur.copy(f"COPY import_lines ({_IMPORT_COLUMNS}, line) FROM STDIN") as copy:
            buffer: list[bytes] = []
            size = 0
            for item in scan_import_file(path):
                lines_read += 1
                if type(item) is tuple:  # FastRewards: the common case, kept lean (record: _FAST_RECORD)
                    line_no, key, staker, rewards, commission = item  # type: ignore[misc]
                    row = b"%d\t%s\tREWARDS\t\\N\t%s\t%s\t%s\t\\N\n" % (
                        line_no,
                        key,
                        staker if staker is not None else b"\\N",
                        rewards,
                        commission,
                    )
                elif isinstance(item, RawLine):
                    line_no = item.line_no
                    candidates += 1
                    row = b"%d\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t%s\n" % (item.line_no, item.text)
                elif isinstance(item, LineError):
                    invalid += 1
                    if len(errors) < MAX_REPORTED_ERRORS:
                        errors.append((item.line_no, item.reason))
                    continue
                else:
                    line_no = item.line_no  # type: ignore[union-attr]
                    row = _parsed_row(line_no, item.record, raw=True)  # type: ignore[union-attr]
                buffer.append(row)
                size += len(row)
                if size >= _COPY_BUFFER_BYTES:
                    copy.write(b"".join(buffer))
                    buffer.clear()
                    size = 0
                if on_progress is not None and lines_read % 5000 == 0:
                    on_progress(line_no, total_lines)
            if buffer:
                copy.write(b"".join(buffer))
    result.lines_read += lines_read
    result.invalid_count += invalid
    if candidates:
        accepted = _insert_fast_rewards(session)
        if accepted < candidates:
            errors += _explain_rejected(session, result)
        session.execute(text("DELETE FROM import_lines WHERE validator_key IS NULL"))
    result.invalid_lines = sorted(errors)[:MAX_REPORTED_ERRORS]
    if on_progress is not None:
        on_progress(total_lines, total_lines)


def _insert_fast_rewards(session: Session) -> int:
    """Run the set-based REWARDS check; the regex that proves each line is JSON runs only when needed."""
    insert = f"INSERT INTO import_lines ({_IMPORT_COLUMNS}) "
    try:
        with session.begin_nested():
            return session.execute(
                text(insert + fast_rewards_sql(check_shape=False, table="import_lines"))
            ).rowcount
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "22P02":  # invalid_text_representation: not JSON
            raise
    return session.execute(text(insert + fast_rewards_sql(check_shape=True, table="import_lines"))).rowcount


def _parsed_row(line_no: int, record: AnyRecord, *, raw: bool = False) -> bytes:
    """A record's COPY row (``_IMPORT_COLUMNS``, and with ``raw`` a null ``line`` after them)."""
    rewards = isinstance(record, RewardsRecord)
    fields = (
        str(line_no),
        _copy_text(record.validator_key),
        record.data_type,
        _copy_text(canonical_json(record_payload(record)).decode("utf-8")),
        _copy_text(record.staker_address) if rewards and record.staker_address is not None else "\\N",
        str(record.rewards_native) if rewards else "\\N",
        str(record.commission_native) if rewards else "\\N",
        *(("\\N",) if raw else ()),
    )
    return ("\t".join(fields) + "\n").encode("utf-8")


def _explain_rejected(session: Session, result: IngestResult) -> list[tuple[int, str]]:
    """Parse, in Python, the candidate lines the SQL check did not accept; stage the valid ones."""
    errors: list[tuple[int, str]] = []
    rejected = session.execute(
        text(
            "SELECT r.line_no, r.line FROM import_lines r WHERE r.validator_key IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM import_lines l WHERE l.line_no = r.line_no"
            " AND l.validator_key IS NOT NULL) ORDER BY r.line_no"
        ).execution_options(stream_results=True, yield_per=5000)
    )
    rows: list[bytes] = []
    for line_no, line in rejected:
        item = explain_raw_line(RawLine(line_no, line.encode("ascii")))
        if isinstance(item, LineError):
            result.invalid_count += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append((item.line_no, item.reason))
        else:
            rows.append(_parsed_row(item.line_no, item.record))
    rejected.close()
    if rows:  # valid lines the SQL check is too strict for: rare, so held until the cursor is done
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY import_lines ({_IMPORT_COLUMNS}) FROM STDIN") as copy:
            copy.write(b"".join(rows))
    return errors


# Line-level semantics the record models cannot see (SPEC §4, issue 10): a REWARDS record's commission
# is part of its rewards, so never more; and the validator key must be well-formed for the chain's
# family (domain.validator_keys: checked in Python once per distinct key, few per file). A line gets
# one reason (a bad key first); such lines are invalid lines like parse errors, and are taken out of
# ``import_lines`` before the file-level rules, which then judge only the lines that can be staged.
_LINE_ERRORS = (
    "CREATE TEMP TABLE import_line_errors (line_no integer NOT NULL, reason text NOT NULL) ON COMMIT DROP",
    "CREATE TEMP TABLE import_bad_keys (validator_key text PRIMARY KEY, reason text NOT NULL) ON COMMIT DROP",
)
_BAD_KEY_LINES = text(
    """
    INSERT INTO import_line_errors (line_no, reason)
    SELECT l.line_no, b.reason FROM import_lines l JOIN import_bad_keys b USING (validator_key)
    """
)
_COMMISSION_ABOVE_REWARDS = text(
    """
    INSERT INTO import_line_errors (line_no, reason)
    SELECT l.line_no,
           format('commission_native %s is greater than rewards_native %s',
                  l.commission_native, l.rewards_native)
    FROM import_lines l
    WHERE l.data_type = 'REWARDS' AND l.commission_native > l.rewards_native
      AND NOT EXISTS (SELECT 1 FROM import_bad_keys b WHERE b.validator_key = l.validator_key)
    """
)


def _check_lines(session: Session, chain_id: str, result: IngestResult) -> None:
    """Report lines with a malformed validator key or a commission above the rewards; drop them from
    ``import_lines`` (in strict mode the file is refused anyway)."""
    for statement in _LINE_ERRORS:
        session.execute(text(statement))
    family = chain_family(chain_id)
    if family is not None:
        keys = session.scalars(text("SELECT DISTINCT validator_key FROM import_lines")).all()
        bad = [
            {"key": key, "reason": reason}
            for key in keys
            if (reason := validator_key_problem(family, key)) is not None
        ]
        if bad:
            session.execute(
                text("INSERT INTO import_bad_keys (validator_key, reason) VALUES (:key, :reason)"), bad
            )
            session.execute(_BAD_KEY_LINES)
    session.execute(_COMMISSION_ABOVE_REWARDS)
    count = session.scalar(text("SELECT count(*) FROM import_line_errors")) or 0
    if not count:
        return
    shown = session.execute(
        text("SELECT line_no, reason FROM import_line_errors ORDER BY line_no LIMIT :n"),
        {"n": MAX_REPORTED_ERRORS},
    ).all()
    result.invalid_count += count
    result.invalid_lines = sorted([*result.invalid_lines, *((n, r) for n, r in shown)])[:MAX_REPORTED_ERRORS]
    session.execute(text("DELETE FROM import_lines WHERE line_no IN (SELECT line_no FROM import_line_errors)"))


def _check_file_rules(session: Session, result: IngestResult, *, drop: bool) -> None:
    """Report lines that break the file-level rules as invalid lines; with ``drop``, delete them."""
    session.execute(_CHECK_FILE_RULES)
    count = session.scalar(text("SELECT count(*) FROM import_rule_errors")) or 0
    if not count:
        return
    shown = session.execute(
        text("SELECT line_no, reason FROM import_rule_errors ORDER BY line_no LIMIT :n"),
        {"n": MAX_REPORTED_ERRORS},
    ).all()
    result.invalid_count += count
    result.invalid_lines = sorted([*result.invalid_lines, *((n, r) for n, r in shown)])[:MAX_REPORTED_ERRORS]
    if drop:
        session.execute(
            text("DELETE FROM import_lines WHERE line_no IN (SELECT line_no FROM import_rule_errors)")
        )


def _errors_text(result: IngestResult) -> str:
    shown = "; ".join(f"line {n}: {reason}" for n, reason in result.invalid_lines[:10])
    more = result.invalid_count - min(10, len(result.invalid_lines))
    return f"{result.invalid_count} invalid line(s): {shown}" + (f"; and {more} more" if more > 0 else "")


def _run_metadata(result: IngestResult) -> dict[str, Any]:
    return {
        "lines_read": result.lines_read,
        "invalid_count": result.invalid_count,
        "invalid_lines": [{"line": n, "reason": r} for n, r in result.invalid_lines],
        "unchanged": result.unchanged,
        "new_validators": result.new_validators,
    }


RUN_COLUMNS = [
    "run_id",
    "chain_id",
    "period_id",
    "period_identifier",
    "provider",
    "status",
    "started_at",
    "completed_at",
    "records_fetched",
    "records_staged",
    "error_message",
    "metadata",
]


def get_run(session: Session, run_id: uuid.UUID) -> dict:
    """One ingestion run as a `RUN_COLUMNS` row, its metadata (per-endpoint statistics) included."""
    rows = list_runs(session, chain_id=None, period=None, limit=1, run_id=run_id)
    if not rows:
        raise NotFound(f"no ingestion run {run_id}.")
    return rows[0]


def list_runs(
    session: Session, *, chain_id: str | None, period: str | None, limit: int, run_id: uuid.UUID | None = None
) -> list[dict]:
    """Ingestion runs newest first, as `RUN_COLUMNS` rows; `period` needs `chain_id`."""
    period_id = get_period(session, chain_id, period).period_id if period and chain_id else None
    query = (
        select(IngestionRun, CanonicalPeriod.period_identifier)
        .outerjoin(CanonicalPeriod, CanonicalPeriod.period_id == IngestionRun.period_id)
        .order_by(IngestionRun.started_at.desc())
        .limit(limit)
    )
    if chain_id:
        query = query.where(IngestionRun.chain_id == chain_id)
    if period_id:
        query = query.where(IngestionRun.period_id == period_id)
    if run_id:
        query = query.where(IngestionRun.run_id == run_id)
    rows = []
    for run, identifier in session.execute(query):
        meta = run.metadata_ or {}
        rows.append(
            {
                "run_id": run.run_id,
                "chain_id": run.chain_id,
                "period_id": run.period_id,
                # A refused file's run has no period (none was created): its metadata names it.
                "period_identifier": identifier or meta.get("period_identifier"),
                "provider": meta.get("provider"),
                "status": run.status,
                "started_at": run.started_at,
                "completed_at": run.completed_at,
                "records_fetched": run.records_fetched,
                "records_staged": run.records_staged,
                "error_message": run.error_message,
                "metadata": meta,
            }
        )
    return rows
