"""Deterministic synthetic import files in the generic JSON Lines format (SPEC §4, §14).

Owns: generating per-period import files at any scale (validators x delegators x periods) for the
benchmark and the committed sample data under ``config/samples/``, with realistic magnitudes in
native base units (lamports, wei); the sample dataset's memorable validator keys, staker addresses
and epoch bounds; and whole datasets (period files plus partner agreement files over the generated
stakers) behind ``aurora dev generate`` / ``aurora dev samples``.

Never: uses a float for an amount (every amount is an integer drawn from a seeded ``random.Random``
and scaled with integer arithmetic), depends on anything but its arguments (same arguments, same
bytes, on any machine), holds more than one validator's delegators in memory, prints, or touches
the database.

Model, per validator and period (the file format's meaning is SPEC §5):

- Delegators and the operator's own stake are identities: the same addresses and stakes in every
  period for the same seed. What varies per period is the validator's performance (reward rate),
  its leader slots / proposals, fees and MEV.
- Rewards are proportional to stake within a validator and period (``stake * APY * performance /
  periods-per-year``, floored), as SPEC §8's stake-weight rule assumes. A delegator's commission is
  ``floor(rewards * commission_rate_bps / 10000)``; the validator-level row (``staker_address``
  null) carries the operator's own-stake rewards with commission ``"0"``.
- Solana: ~2-day epochs (182 a year), ~7% APY, blocks from the validator's share of 432,000 slots,
  priority fees 0.01-0.06 SOL a block, Jito tips of which the operator keeps its MEV commission.
- Ethereum: daily periods, ~2.9% APR, a pooled 32-ETH validator (operator bond + delegators; every
  amount fits NUMERIC(38,18), whose 20 integer digits stop just under 100 ETH in wei), proposals
  at the realistic rate of one per ~150 days, so most days have no execution fees or MEV.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from aurora_cli.domain.validator_keys import base58_encode

BPS = 10_000


@dataclass(frozen=True)
class ChainProfile:
    """The magnitudes a chain's synthetic data is drawn from (integers, native base units)."""

    family: Literal["solana", "ethereum"]
    native_per_coin: int
    periods_per_year: int
    reward_rate_bps: int  # gross staking APY before commission
    slots_per_period: int
    network_stake_native: int
    commission_choices: tuple[int, ...]
    fee_per_block_native: tuple[int, int]
    mev_per_block_native: tuple[int, int]


SOLANA = ChainProfile(
    family="solana",
    native_per_coin=10**9,
    periods_per_year=182,
    reward_rate_bps=700,
    slots_per_period=432_000,
    network_stake_native=380_000_000 * 10**9,
    commission_choices=(500, 500, 700, 800, 1000),
    fee_per_block_native=(10_000_000, 60_000_000),
    mev_per_block_native=(10_000_000, 90_000_000),
)
ETHEREUM = ChainProfile(
    family="ethereum",
    native_per_coin=10**18,
    periods_per_year=365,
    reward_rate_bps=290,
    slots_per_period=7_200,
    network_stake_native=34_000_000 * 10**18,
    commission_choices=(500, 1000, 1000, 1500),
    fee_per_block_native=(5 * 10**15, 6 * 10**16),
    mev_per_block_native=(2 * 10**16, 2 * 10**17),
)
ETHEREUM_VALIDATOR_STAKE = 32 * 10**18


def chain_profile(chain: str) -> ChainProfile:
    """The profile for a chain id such as ``solana-mainnet`` or ``ethereum-holesky`` (by prefix)."""
    if chain.startswith("solana"):
        return SOLANA
    if chain.startswith("ethereum"):
        return ETHEREUM
    raise ValueError(f"no synthetic profile for chain {chain!r}: use a solana-* or ethereum-* chain id")


@dataclass(frozen=True)
class ValidatorSpec:
    """Pins a validator's key and, optionally, its terms; anything left ``None`` is drawn from the seed."""

    key: str
    commission_rate_bps: int | None = None
    is_mev_enabled: bool | None = None


@dataclass(frozen=True)
class PinnedDelegation:
    """A named staker's stake at a validator, written before the generated delegators."""

    validator_key: str
    staker_address: str
    stake_native: int


@dataclass(frozen=True)
class ExpectedPnl:
    """The validator P&L (SPEC §6) the written file implies, for checking the pipeline end to end."""

    exec_fees_native: int
    mev_tips_native: int
    vote_rewards_native: int
    commission_native: int

    @property
    def total_revenue_native(self) -> int:
        fees_and_mev = self.exec_fees_native + self.mev_tips_native
        return fees_and_mev + self.vote_rewards_native + self.commission_native


@dataclass(frozen=True)
class PeriodFileStats:
    """What ``write_period_file`` wrote."""

    path: Path
    chain: str
    period: str
    validators: int
    delegator_rows: int
    lines: int
    bytes_written: int
    validator_pnl: dict[str, ExpectedPnl] = field(repr=False)


@dataclass(frozen=True)
class _Identity:
    key: str
    commission_rate_bps: int
    is_mev_enabled: bool
    mev_commission_bps: int
    self_stake_native: int
    delegators: list[tuple[str, int]]


def _stochastic_round(rng: random.Random, numerator: int, denominator: int) -> int:
    """numerator/denominator rounded up with probability equal to its fractional part (exact integers)."""
    whole, remainder = divmod(numerator, denominator)
    return whole + (1 if rng.randrange(denominator) < remainder else 0)


def _solana_address(rng: random.Random) -> str:
    return base58_encode(rng.getrandbits(256).to_bytes(32, "big"))


def _ethereum_pubkey(rng: random.Random) -> str:
    # A compressed BLS12-381 G1 point: first byte has the compression bit set and infinity bit clear.
    return f"0x{0x80 | rng.getrandbits(6):02x}{rng.getrandbits(47 * 8):094x}"


def _ethereum_address(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(160):040x}"


def _identity(
    profile: ChainProfile,
    seed: int,
    chain: str,
    index: int,
    spec: ValidatorSpec | None,
    delegators: int,
    pinned: Sequence[PinnedDelegation],
) -> _Identity:
    # Seeded by (seed, chain, index) only, so keys, stakes and terms are the same in every period.
    rng = random.Random(f"aurora-synthetic:{seed}:{chain}:validator:{index}")
    solana = profile.family == "solana"
    key = _solana_address(rng) if solana else _ethereum_pubkey(rng)
    commission = rng.choice(profile.commission_choices)
    mev_enabled = rng.randrange(10) != 0
    mev_commission = rng.choice((500, 800, 1000))
    if spec is not None:
        key = spec.key
        commission = commission if spec.commission_rate_bps is None else spec.commission_rate_bps
        mev_enabled = mev_enabled if spec.is_mev_enabled is None else spec.is_mev_enabled
    mine = [(p.staker_address, p.stake_native) for p in pinned if p.validator_key == key]
    if solana:
        lamports = profile.native_per_coin
        self_stake = rng.randint(5_000, 100_000) * lamports + rng.randrange(lamports)
        generated = []
        for _ in range(delegators):
            address = _solana_address(rng)
            bucket = rng.randrange(100)  # half small, a third mid-size, a sixth whales: 1e3..1e6 SOL
            low = 1_000 if bucket < 50 else 10_000 if bucket < 85 else 100_000
            stake = rng.randrange(low, low * 10) * lamports + rng.randrange(lamports)
            generated.append((address, stake))
    else:
        gwei = 10**9
        self_stake = rng.choice((2, 4, 8)) * profile.native_per_coin
        pool_gwei = (ETHEREUM_VALIDATOR_STAKE - self_stake - sum(stake for _, stake in mine)) // gwei
        if pool_gwei < 0 or (pool_gwei == 0 and delegators):
            raise ValueError(f"pinned delegations at {key} leave no room in its 32 ETH")
        addresses = [_ethereum_address(rng) for _ in range(delegators)]
        weights = [rng.randint(1, 1_000) for _ in range(delegators)]
        total_weight = sum(weights) or 1
        shares = [pool_gwei * weight // total_weight for weight in weights]
        if shares:
            shares[0] += pool_gwei - sum(shares)
        generated = [(address, share * gwei) for address, share in zip(addresses, shares, strict=True)]
    return _Identity(key, commission, mev_enabled, mev_commission, self_stake, mine + generated)


def _period_lines(
    profile: ChainProfile, identity: _Identity, rng: random.Random
) -> tuple[list[dict[str, object]], ExpectedPnl]:
    solana = profile.family == "solana"
    performance_bps = rng.randint(9_400, 10_000) if solana else rng.randint(9_300, 10_000)
    reward_denominator = BPS * profile.periods_per_year * BPS

    def rewards(stake: int) -> int:
        return stake * profile.reward_rate_bps * performance_bps // reward_denominator

    delegator_stake = sum(stake for _, stake in identity.delegators)
    total_stake = identity.self_stake_native + delegator_stake
    slots = _stochastic_round(rng, profile.slots_per_period * total_stake, profile.network_stake_native)
    produced = _stochastic_round(rng, slots * rng.randint(9_500, 10_000), BPS) if solana else slots

    if identity.is_mev_enabled:
        share_bps = rng.randint(8_500, 9_900) if solana else 9_000
        tip_count = _stochastic_round(rng, produced * share_bps, BPS)
    else:
        tip_count = 0
    mev_value = tip_count * rng.randint(*profile.mev_per_block_native)
    # Solana: the operator keeps its Jito MEV commission. Ethereum (pooled): its fee on the relay payment.
    kept_bps = identity.mev_commission_bps if solana else identity.commission_rate_bps
    mev_kept = mev_value * kept_bps // BPS
    # Ethereum blocks bought from a relay pay the proposer through MEV, not priority fees.
    fee_blocks = produced if solana else produced - tip_count
    fees = fee_blocks * rng.randint(*profile.fee_per_block_native)

    activating = total_stake * rng.randint(0, 50) // BPS if solana else 0
    uptime = rng.randint(9_850, 10_000) if solana else rng.randint(9_900, 10_000)
    own_rewards = rewards(identity.self_stake_native)

    key = identity.key
    lines: list[dict[str, object]] = [
        {"data_type": "FEES", "validator_key": key, "total_fees_native": str(fees), "fee_count": fee_blocks},
        {"data_type": "MEV", "validator_key": key, "total_mev_native": str(mev_kept), "tip_count": tip_count},
        {
            "data_type": "META",
            "validator_key": key,
            "commission_rate_bps": identity.commission_rate_bps,
            "is_mev_enabled": identity.is_mev_enabled,
            "total_stake_native": str(total_stake),
            "active_stake_native": str(total_stake - activating),
            "delegator_count": len(identity.delegators),
            "uptime_percentage": f"{uptime // 100}.{uptime % 100:02d}",
        },
        {
            "data_type": "REWARDS",
            "validator_key": key,
            "staker_address": None,
            "rewards_native": str(own_rewards),
            "commission_native": "0",
        },
    ]
    commission_total = 0
    for address, stake in identity.delegators:
        reward = rewards(stake)
        commission = reward * identity.commission_rate_bps // BPS
        commission_total += commission
        lines.append(
            {
                "data_type": "REWARDS",
                "validator_key": key,
                "staker_address": address,
                "rewards_native": str(reward),
                "commission_native": str(commission),
            }
        )
    return lines, ExpectedPnl(fees, mev_kept, own_rewards, commission_total)


def _check_period(profile: ChainProfile, period: str) -> None:
    if profile.family == "solana" and not period.isdigit():
        raise ValueError(f"a Solana period is an epoch number, got {period!r}")
    if profile.family == "ethereum":
        try:
            date.fromisoformat(period)
        except ValueError:
            raise ValueError(f"an Ethereum period is a UTC day YYYY-MM-DD, got {period!r}") from None


def write_period_file(
    path: str | Path,
    chain: str,
    period: str,
    validators: int,
    delegators_per_validator: int,
    seed: int,
    *,
    validator_specs: Sequence[ValidatorSpec] | None = None,
    pinned_delegations: Sequence[PinnedDelegation] = (),
) -> PeriodFileStats:
    """Write one period's import file for ``chain`` and return what it contains.

    Per validator, in order: FEES, MEV, META, the validator-level REWARDS line, then one REWARDS line
    per delegator (pinned delegations first). ``validator_specs`` (one per validator) pins keys and
    terms; ``pinned_delegations`` adds named stakers to those validators. The file is written to a
    temporary name and renamed, so a reader never sees half a file.
    """
    profile = chain_profile(chain)
    _check_period(profile, period)
    if validators < 0 or delegators_per_validator < 0:
        raise ValueError("validators and delegators_per_validator must be >= 0")
    if validator_specs is not None and len(validator_specs) != validators:
        raise ValueError(f"{len(validator_specs)} validator specs given for {validators} validators")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    pnl: dict[str, ExpectedPnl] = {}
    lines = delegator_rows = written = 0
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as out:
            for index in range(validators):
                spec = validator_specs[index] if validator_specs is not None else None
                identity = _identity(
                    profile, seed, chain, index, spec, delegators_per_validator, pinned_delegations
                )
                if identity.key in pnl:
                    raise ValueError(f"validator key {identity.key} appears twice")
                rng = random.Random(f"aurora-synthetic:{seed}:{chain}:period:{period}:validator:{index}")
                records, pnl[identity.key] = _period_lines(profile, identity, rng)
                for record in records:
                    text = json.dumps(record, ensure_ascii=False) + "\n"
                    out.write(text)
                    written += len(text.encode("utf-8"))
                lines += len(records)
                delegator_rows += len(identity.delegators)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return PeriodFileStats(target, chain, period, validators, delegator_rows, lines, written, pnl)


# --- The committed sample dataset (config/samples/) -------------------------------------------------

SAMPLE_SEED = 850


@dataclass(frozen=True)
class SamplePeriod:
    period: str
    file: str
    start: str
    end: str


@dataclass(frozen=True)
class SampleChain:
    chain: str
    validators: tuple[ValidatorSpec, ...]
    delegators_per_validator: int
    stakers: tuple[str, ...]  # the six memorable addresses partner agreements reference
    pinned: tuple[PinnedDelegation, ...]
    periods: tuple[SamplePeriod, ...]


def _memorable_solana(prefix: str, length: int) -> str:
    return prefix + "1" * (length - len(prefix))


SOLANA_SAMPLE_VALIDATORS = tuple(_memorable_solana(f"AuroraVote{n}", 44) for n in range(1, 5))
SOLANA_SAMPLE_STAKERS = tuple(_memorable_solana(f"Staker{letter}", 43) for letter in "ABCDEF")
ETHEREUM_SAMPLE_VALIDATORS = tuple(f"0xa0{'0' * 90}{n:04x}" for n in range(1, 4))
ETHEREUM_SAMPLE_STAKERS = tuple(f"0xc1{'0' * 34}{n:04x}" for n in range(0xA, 0x10))

_SOL = SOLANA.native_per_coin
_ETH = ETHEREUM.native_per_coin
_SV, _SS = SOLANA_SAMPLE_VALIDATORS, SOLANA_SAMPLE_STAKERS
_EV, _ES = ETHEREUM_SAMPLE_VALIDATORS, ETHEREUM_SAMPLE_STAKERS

# Solana epochs are 432,000 slots at ~0.41 s: 49 h 12 min each, back to back.
SAMPLE_CHAINS = (
    SampleChain(
        chain="solana-mainnet",
        validators=(
            ValidatorSpec(_SV[0], commission_rate_bps=700, is_mev_enabled=True),
            ValidatorSpec(_SV[1], commission_rate_bps=500, is_mev_enabled=True),
            ValidatorSpec(_SV[2], commission_rate_bps=1000, is_mev_enabled=True),
            ValidatorSpec(_SV[3], commission_rate_bps=800, is_mev_enabled=False),
        ),
        delegators_per_validator=150,
        stakers=_SS,
        pinned=(
            PinnedDelegation(_SV[0], _SS[0], 250_000 * _SOL),
            PinnedDelegation(_SV[0], _SS[1], 40_000 * _SOL),
            PinnedDelegation(_SV[1], _SS[1], 60_000 * _SOL),
            PinnedDelegation(_SV[1], _SS[2], 120_000 * _SOL),
            PinnedDelegation(_SV[2], _SS[3], 15_000 * _SOL),
            PinnedDelegation(_SV[2], _SS[4], 500_000 * _SOL),
            PinnedDelegation(_SV[3], _SS[4], 75_000 * _SOL),
            PinnedDelegation(_SV[3], _SS[5], 8_000 * _SOL),
        ),
        periods=(
            SamplePeriod("850", "epoch-850.jsonl", "2025-09-01T00:00:00Z", "2025-09-03T01:12:00Z"),
            SamplePeriod("851", "epoch-851.jsonl", "2025-09-03T01:12:00Z", "2025-09-05T02:24:00Z"),
            SamplePeriod("852", "epoch-852.jsonl", "2025-09-05T02:24:00Z", "2025-09-07T03:36:00Z"),
        ),
    ),
    SampleChain(
        chain="ethereum-mainnet",
        validators=(
            ValidatorSpec(_EV[0], commission_rate_bps=1000, is_mev_enabled=True),
            ValidatorSpec(_EV[1], commission_rate_bps=1000, is_mev_enabled=True),
            ValidatorSpec(_EV[2], commission_rate_bps=500, is_mev_enabled=False),
        ),
        delegators_per_validator=100,
        stakers=_ES,
        pinned=(
            PinnedDelegation(_EV[0], _ES[0], 4 * _ETH),
            PinnedDelegation(_EV[0], _ES[1], 3 * _ETH // 2),
            PinnedDelegation(_EV[0], _ES[4], 1 * _ETH),
            PinnedDelegation(_EV[1], _ES[1], 2 * _ETH),
            PinnedDelegation(_EV[1], _ES[2], 3 * _ETH),
            PinnedDelegation(_EV[2], _ES[3], _ETH // 2),
            PinnedDelegation(_EV[2], _ES[4], 5 * _ETH // 2),
            PinnedDelegation(_EV[2], _ES[5], 5 * _ETH),
        ),
        periods=(
            SamplePeriod("2025-06-01", "2025-06-01.jsonl", "2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z"),
            SamplePeriod("2025-06-02", "2025-06-02.jsonl", "2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z"),
            SamplePeriod("2025-06-03", "2025-06-03.jsonl", "2025-06-03T00:00:00Z", "2025-06-04T00:00:00Z"),
        ),
    ),
)


def _periods_toml() -> str:
    out = [
        "# Period bounds of the sample data in this directory (written by",
        "# `aurora dev samples --out config/samples`; do not edit by hand).",
        "# Solana epochs: 432,000 slots at ~0.41 s = 49 h 12 min, each starting where the last ended.",
        "# Ethereum days are derivable (UTC midnight to midnight) and listed for completeness.",
        "# `file` is relative to this directory.",
    ]
    for sample in SAMPLE_CHAINS:
        for period in sample.periods:
            out += [
                "",
                "[[periods]]",
                f'chain = "{sample.chain}"',
                f'period = "{period.period}"',
                f'start = "{period.start}"',
                f'end = "{period.end}"',
                f'file = "{sample.chain}/{period.file}"',
            ]
    return "\n".join(out) + "\n"


def write_samples(directory: str | Path) -> list[PeriodFileStats]:
    """(Re)write the committed sample dataset: every sample period file and ``periods.toml``."""
    root = Path(directory)
    stats = []
    for sample in SAMPLE_CHAINS:
        for period in sample.periods:
            stats.append(
                write_period_file(
                    root / sample.chain / period.file,
                    sample.chain,
                    period.period,
                    len(sample.validators),
                    sample.delegators_per_validator,
                    SAMPLE_SEED,
                    validator_specs=sample.validators,
                    pinned_delegations=sample.pinned,
                )
            )
    (root / "periods.toml").write_text(_periods_toml(), encoding="utf-8")
    return stats


# --- Datasets at any scale (``aurora dev generate``) -------------------------------------------------

FIRST_PERIOD = {"solana": "850", "ethereum": "2025-06-01"}
AGREEMENTS_EFFECTIVE_FROM = "2025-01-01T00:00:00Z"


@dataclass(frozen=True)
class DatasetStats:
    """What ``write_dataset`` wrote: one entry per period file, then the agreement files."""

    periods: list[PeriodFileStats]
    agreement_files: list[Path]


def consecutive_periods(chain: str, count: int, first: str | None = None) -> list[str]:
    """``count`` period identifiers from ``first``: epoch numbers (Solana) or UTC days (Ethereum)."""
    profile = chain_profile(chain)
    start = first if first is not None else FIRST_PERIOD[profile.family]
    _check_period(profile, start)
    if count < 1:
        raise ValueError("periods must be at least 1")
    if profile.family == "solana":
        return [str(int(start) + offset) for offset in range(count)]
    day = date.fromisoformat(start)
    return [(day + timedelta(days=offset)).isoformat() for offset in range(count)]


def _agreement_toml(chain: str, number: int, clients: list[tuple[str, str]], validator_key: str) -> str:
    """One ACTIVE agreement with three rules (the three attribution methods) over ``clients``."""
    lines = [
        f"# Synthetic partner {number:04d} (written by `aurora dev generate`; deterministic by seed).",
        "",
        "[partner]",
        f'name = "Synthetic Partner {number:04d}"',
        f'legal_entity_name = "Synthetic Partner {number:04d} Ltd"',
        f'contact_email = "partner-{number:04d}@synthetic.example"',
        "",
        "[agreement]",
        f'name = "Synthetic referral {number:04d}"',
        'status = "ACTIVE"',
        f'effective_from = "{AGREEMENTS_EFFECTIVE_FROM}"',
    ]
    for staker, validator in clients:
        lines += [
            "",
            "[[clients]]",
            f'chain = "{chain}"',
            f'staker_address = "{staker}"',
            f'validator_key = "{validator}"',
        ]
    rules = [
        ("COMMISSION", "CLIENT_REVENUE", 1000 + 50 * (number % 11), None),
        ("MEV_TIPS", "STAKE_WEIGHT", 500 + 25 * (number % 7), None),
        ("EXEC_FEES", "FIXED_SHARE", 10 + number % 40, validator_key),
    ]
    for order, (component, attribution, rate_bps, validator) in enumerate(rules, start=1):
        lines += ["", "[[rules]]", f"order = {order}", f'chain = "{chain}"']
        if validator is not None:
            lines.append(f'validator_key = "{validator}"')
        lines += [f'component = "{component}"', f'attribution = "{attribution}"', f"rate_bps = {rate_bps}"]
    return "\n".join(lines) + "\n"


def write_agreements(
    directory: str | Path,
    chain: str,
    agreements: int,
    validators: int,
    delegators_per_validator: int,
    seed: int,
) -> list[Path]:
    """``agreements`` agreement files whose clients are stakers of the generated period files.

    Partner ``n`` refers up to three delegators, drawn (seeded) from the validators' delegators; its
    FIXED_SHARE rule names one validator. The identities are the ones ``write_period_file`` writes for
    the same (chain, validators, delegators, seed), so the agreements attribute real rows.
    """
    if agreements < 0:
        raise ValueError("agreements must be >= 0")
    if agreements and (validators < 1 or delegators_per_validator < 1):
        raise ValueError("agreements need at least one validator with at least one delegator")
    profile = chain_profile(chain)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    identities = (
        [
            _identity(profile, seed, chain, index, None, delegators_per_validator, ())
            for index in range(validators)
        ]
        if agreements
        else []
    )
    paths = []
    for number in range(1, agreements + 1):
        rng = random.Random(f"aurora-synthetic:{seed}:{chain}:agreement:{number}")
        clients: dict[str, str] = {}
        for _ in range(min(3, delegators_per_validator)):
            identity = identities[rng.randrange(validators)]
            staker, _stake = identity.delegators[rng.randrange(len(identity.delegators))]
            clients.setdefault(staker, identity.key)
        home = identities[(number - 1) % validators].key
        path = target / f"partner-{number:04d}.toml"
        path.write_text(_agreement_toml(chain, number, sorted(clients.items()), home), encoding="utf-8")
        paths.append(path)
    return paths


def write_dataset(
    directory: str | Path,
    *,
    chain: str,
    validators: int,
    delegators_per_validator: int,
    periods: int,
    agreements: int,
    seed: int,
    first_period: str | None = None,
) -> DatasetStats:
    """``<chain>_<period>.jsonl`` for ``periods`` consecutive periods, and ``agreements/partner-NNNN.toml``."""
    root = Path(directory)
    identifiers = consecutive_periods(chain, periods, first_period)
    files = [
        write_period_file(
            root / f"{chain}_{period}.jsonl", chain, period, validators, delegators_per_validator, seed
        )
        for period in identifiers
    ]
    agreement_files = (
        write_agreements(root / "agreements", chain, agreements, validators, delegators_per_validator, seed)
        if agreements
        else []
    )
    return DatasetStats(files, agreement_files)
