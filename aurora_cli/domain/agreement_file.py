"""Agreement files: the reviewed TOML that defines one partner agreement (SPEC §7, agreements as code).

This module owns the file's schema (pydantic models, strict: unknown fields and lossy values are
refused), every rule that can be checked from the file alone (enum values, bps ranges, floor <= cap,
ascending tiers, CLIENT_REVENUE only for COMMISSION / VOTE_REWARDS, unique rule orders, aware
datetimes in order), the list of every error with its field path, and the normalized terms used as
`agreement_versions.terms_snapshot` and for change detection.

Field paths are dotted with 0-based array indices, as pydantic reports them: `rules[0].rate_bps` is
the first `[[rules]]` table, `rules[1].tiers.steps[0].from_native` the second rule's first step.

Reading the TOML file is the only I/O it does. It must never touch the database, the network or
the terminal; whether a chain or validator exists is the service's question, not the file's.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from aurora_cli.domain.commission import CLIENT_REVENUE_COMPONENTS, AttributionMethod, RevenueComponent
from aurora_cli.domain.money import parse_amount, to_plain_string
from aurora_cli.domain.tiers import MAX_BPS, TierMode, TierStep, TierTable, check_bps
from aurora_cli.errors import InvalidInput

FILE_PATH = "<file>"  # the path reported for errors that concern the whole file (syntax, unreadable)


class AgreementStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


class AgreementFileError(InvalidInput):
    """An agreement file was refused; `errors` lists every (field path, reason), nothing was written."""

    def __init__(self, errors: list[tuple[str, str]], source: str | None = None) -> None:
        self.errors = list(errors)
        where = source or "the agreement file"
        count = len(self.errors)
        plural = "" if count == 1 else "s"
        super().__init__(
            f"{where} is invalid ({count} error{plural}): correct the listed fields and try again",
            details=self.errors,
        )


# --- field types: each refuses what TOML could give that would be lossy or ambiguous -------------


def _amount_value(value: object) -> Decimal:
    # Decimals arrive when a model is built in Python (or re-checked from its own dump); they go
    # through the same text rules so that both routes accept exactly the same amounts.
    if isinstance(value, Decimal) and value.is_finite():
        value = to_plain_string(value)
    return parse_amount(value)


def _bps_value(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number of basis points (0..10000), got {value!r}")
    if not 0 <= value <= MAX_BPS:
        raise ValueError(f"{value} is outside 0..{MAX_BPS} basis points")
    return check_bps(value)


def _order_value(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _aware_datetime_value(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise ValueError(
            "is a date without a time; write a date-time with an offset, e.g. 2025-01-01T00:00:00Z"
        )
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 date-time such as 2025-01-01T00:00:00Z") from None
    else:
        raise ValueError(f"must be a date-time with an offset, got {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time means something different on every machine that reads it.
        raise ValueError("has no UTC offset; write e.g. 2025-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _text_value(max_length: int) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {value!r}")
        if not value.strip():
            raise ValueError("must not be empty")
        if value.strip() != value:
            # "V1 " would silently never match validator "V1".
            raise ValueError(f"{value!r} has leading or trailing spaces")
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value

    return check


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email_value(value: object) -> str:
    text = _text_value(200)(value)
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"{text!r} is not an email address")
    return text


AmountField = Annotated[Decimal, BeforeValidator(_amount_value)]
BpsField = Annotated[int, BeforeValidator(_bps_value)]
OrderField = Annotated[int, BeforeValidator(_order_value)]
AwareDateTime = Annotated[datetime, BeforeValidator(_aware_datetime_value)]
Name = Annotated[str, BeforeValidator(_text_value(200))]  # partners / agreements VARCHAR(200)
ChainId = Annotated[str, BeforeValidator(_text_value(50))]  # chains.chain_id VARCHAR(50)
ValidatorKey = Annotated[str, BeforeValidator(_text_value(100))]  # validator_key VARCHAR(100)
StakerAddress = Annotated[str, BeforeValidator(_text_value(100))]  # staker_address VARCHAR(100)
Email = Annotated[str, BeforeValidator(_email_value)]


class _FileTable(BaseModel):
    # A misspelt key ("cap_natve") must be refused, never silently ignored: it would change money.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartnerSection(_FileTable):
    name: Name
    legal_entity_name: Name | None = None
    contact_email: Email
    contact_name: Name | None = None


class AgreementSection(_FileTable):
    name: Name
    status: AgreementStatus
    effective_from: AwareDateTime
    effective_until: AwareDateTime | None = None
    # When changed terms take effect; not part of the terms (see AgreementFile.normalized_terms).
    version_effective_from: AwareDateTime | None = None
    # Days from a statement's release to its due date; printed on the statement.
    payment_terms_days: int | None = Field(default=None, ge=0, le=3650, strict=True)


class ClientSpec(_FileTable):
    """One referred staker; without validator_key it counts at any validator of the chain."""

    chain: ChainId
    staker_address: StakerAddress
    validator_key: ValidatorKey | None = None


class PayoutSpec(_FileTable):
    """Where the partner is paid on one chain; printed on that chain's statements."""

    chain: ChainId
    address: StakerAddress


class TierStepSpec(_FileTable):
    from_native: AmountField
    rate_bps: BpsField


class TiersSpec(_FileTable):
    mode: TierMode
    steps: list[TierStepSpec] = Field(min_length=1)


class RuleSpec(_FileTable):
    """One `[[rules]]` table.

    `rate_bps` is optional when `tiers` is given, because tiers replace it (SPEC §7). The database
    column `commission_rate_bps` is NOT NULL and each line shows "the rule's" rate, so
    `recorded_rate_bps` gives the value to store: `rate_bps` when the file states one, otherwise
    the rate of the last (highest) tier step — the rate a growing base ends up at, rather than a
    0 that would read as "no commission" on a partner's statement.
    """

    order: OrderField
    chain: ChainId | None = None
    validator_key: ValidatorKey | None = None
    component: RevenueComponent
    attribution: AttributionMethod
    rate_bps: BpsField | None = None
    floor_native: AmountField | None = None
    cap_native: AmountField | None = None
    tiers: TiersSpec | None = None

    def tier_table(self) -> TierTable | None:
        if self.tiers is None:
            return None
        return TierTable(
            mode=self.tiers.mode.value,
            steps=tuple(TierStep(from_native=s.from_native, rate_bps=s.rate_bps) for s in self.tiers.steps),
        )

    @property
    def recorded_rate_bps(self) -> int:
        if self.rate_bps is not None:
            return self.rate_bps
        if self.tiers is None:  # unreachable for a validated file: rate_bps or tiers is required
            raise ValueError(f"rule {self.order} has neither rate_bps nor tiers")
        return self.tiers.steps[-1].rate_bps

    def normalized(self) -> dict[str, Any]:
        table = self.tier_table()
        return {
            "order": self.order,
            "chain": self.chain,
            "validator_key": self.validator_key,
            "component": self.component.value,
            "attribution": self.attribution.value,
            "rate_bps": self.rate_bps,
            "floor_native": _plain_or_none(self.floor_native),
            "cap_native": _plain_or_none(self.cap_native),
            "tiers": None if table is None else table.to_config(),
        }


_RELATIONS_ERROR = "agreement_relations"


class AgreementFile(_FileTable):
    partner: PartnerSection
    agreement: AgreementSection
    clients: list[ClientSpec] = Field(default_factory=list)
    payouts: list[PayoutSpec] = Field(default_factory=list)
    # Defaults to empty so that a missing [[rules]] is reported once, by the relation checks.
    rules: list[RuleSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_relations(self) -> AgreementFile:
        # Guards models built directly in Python; parse_agreement_data reports the same problems
        # with their own field paths even when other fields fail (this validator then never runs).
        problems = _relation_problems(self.model_dump())
        if problems:
            listing = "; ".join(f"{path}: {reason}" for path, reason in problems)
            raise PydanticCustomError(_RELATIONS_ERROR, "{listing}", {"listing": listing})
        return self

    def normalized_terms(self) -> dict[str, Any]:
        """The canonical JSON-able terms: equal for files that differ only in layout or client order.

        Amounts are plain decimal strings, datetimes ISO-8601 in UTC, rules sorted by order, clients
        sorted by (chain, staker_address, validator_key). `version_effective_from` is left out: it
        says when terms start, it is not a term, so moving it alone is not a change of terms.
        """
        clients = sorted(
            (
                {"chain": c.chain, "staker_address": c.staker_address, "validator_key": c.validator_key}
                for c in self.clients
            ),
            key=lambda c: (
                c["chain"],
                c["staker_address"],
                c["validator_key"] is not None,
                c["validator_key"] or "",
            ),
        )
        terms: dict[str, Any] = {
            "partner": {
                "name": self.partner.name,
                "legal_entity_name": self.partner.legal_entity_name,
                "contact_email": self.partner.contact_email,
                "contact_name": self.partner.contact_name,
            },
            "agreement": {
                "name": self.agreement.name,
                "status": self.agreement.status.value,
                "effective_from": _iso_utc(self.agreement.effective_from),
                "effective_until": _iso_utc(self.agreement.effective_until),
            },
            "clients": clients,
            "rules": [rule.normalized() for rule in sorted(self.rules, key=lambda r: r.order)],
        }
        # Only when stated: files written before these fields existed keep their normalized terms.
        if self.agreement.payment_terms_days is not None:
            terms["payment_terms_days"] = self.agreement.payment_terms_days
        if self.payouts:
            terms["payouts"] = sorted(
                ({"chain": p.chain, "address": p.address} for p in self.payouts), key=lambda p: p["chain"]
            )
        return terms


def _plain_or_none(value: Decimal | None) -> str | None:
    return None if value is None else to_plain_string(value)


def _iso_utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


# --- checks across fields: run on raw TOML data so they are reported even when other fields fail --

_ABSENT = object()
_INVALID = object()
_AMOUNT = TypeAdapter(AmountField)
_BPS = TypeAdapter(BpsField)
_ORDER = TypeAdapter(OrderField)
_DATETIME = TypeAdapter(AwareDateTime)
_COMPONENT = TypeAdapter(RevenueComponent)
_ATTRIBUTION = TypeAdapter(AttributionMethod)


def _field(table: object, key: str, adapter: TypeAdapter) -> Any:
    """The parsed value of table[key]; _ABSENT when missing or None, _INVALID when it does not parse."""
    if not isinstance(table, Mapping) or table.get(key) is None:
        return _ABSENT
    try:
        return adapter.validate_python(table[key])
    except ValidationError:
        return _INVALID  # already reported by the field's own validation


def _known(value: object) -> bool:
    return value is not _ABSENT and value is not _INVALID


def _relation_problems(data: object) -> list[tuple[str, str]]:
    """Every cross-field problem of a file given as raw TOML data (or a model dump)."""
    if not isinstance(data, Mapping):
        return []
    problems: list[tuple[str, str]] = []
    problems += _agreement_date_problems(data.get("agreement"))
    problems += _duplicate_client_problems(data.get("clients"))
    problems += _duplicate_payout_problems(data.get("payouts"))
    rules = data.get("rules")
    if rules is None or (isinstance(rules, list) and not rules):
        problems.append(("rules", "at least one [[rules]] table is required"))
    elif isinstance(rules, list):
        problems += _rule_problems(rules)
    return problems


def _agreement_date_problems(agreement: object) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    start = _field(agreement, "effective_from", _DATETIME)
    until = _field(agreement, "effective_until", _DATETIME)
    version_from = _field(agreement, "version_effective_from", _DATETIME)
    if _known(start) and _known(until) and not start < until:
        problems.append(("agreement.effective_until", f"must be after effective_from ({_iso_utc(start)})"))
    if _known(version_from):
        if _known(start) and version_from < start:
            problems.append(
                ("agreement.version_effective_from", f"must not be before effective_from ({_iso_utc(start)})")
            )
        if _known(until) and not version_from < until:
            problems.append(
                ("agreement.version_effective_from", f"must be before effective_until ({_iso_utc(until)})")
            )
    return problems


def _duplicate_payout_problems(payouts: object) -> list[tuple[str, str]]:
    if not isinstance(payouts, list):
        return []
    seen: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    for index, payout in enumerate(payouts):
        chain = payout.get("chain") if isinstance(payout, Mapping) else None
        if not isinstance(chain, str):
            continue
        if chain in seen:
            problems.append((f"payouts[{index}].chain", f"{chain} already has a payout address (payouts[{seen[chain]}])"))
        else:
            seen[chain] = index
    return problems


def _duplicate_client_problems(clients: object) -> list[tuple[str, str]]:
    if not isinstance(clients, list):
        return []
    problems: list[tuple[str, str]] = []
    first_index: dict[tuple[object, ...], int] = {}
    for index, client in enumerate(clients):
        if not isinstance(client, Mapping):
            continue
        identity = (client.get("chain"), client.get("staker_address"), client.get("validator_key"))
        if not all(isinstance(part, str) for part in identity[:2]):
            continue
        if identity in first_index:
            problems.append(
                (
                    f"clients[{index}]",
                    f"repeats clients[{first_index[identity]}] (same chain, staker and validator)",
                )
            )
        else:
            first_index[identity] = index
    return problems


def _rule_problems(rules: list[object]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    order_first_index: dict[int, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            continue
        path = f"rules[{index}]"
        if rule.get("rate_bps") is None and rule.get("tiers") is None:
            problems.append((f"{path}.rate_bps", "is required unless [rules.tiers] is given"))

        floor = _field(rule, "floor_native", _AMOUNT)
        cap = _field(rule, "cap_native", _AMOUNT)
        if _known(floor) and _known(cap) and floor > cap:
            problems.append(
                (
                    f"{path}.floor_native",
                    f"floor_native {to_plain_string(floor)} is greater than "
                    f"cap_native {to_plain_string(cap)}",
                )
            )

        component = _field(rule, "component", _COMPONENT)
        attribution = _field(rule, "attribution", _ATTRIBUTION)
        if (
            attribution is AttributionMethod.CLIENT_REVENUE
            and _known(component)
            and component not in CLIENT_REVENUE_COMPONENTS
        ):
            problems.append(
                (
                    f"{path}.attribution",
                    f"CLIENT_REVENUE cannot be used with {component.value}: no per-client revenue exists "
                    "for it; use STAKE_WEIGHT or FIXED_SHARE",
                )
            )

        order = _field(rule, "order", _ORDER)
        if _known(order):
            if order in order_first_index:
                problems.append(
                    (f"{path}.order", f"order {order} is already used by rules[{order_first_index[order]}]")
                )
            else:
                order_first_index[order] = index

        problems += _tier_order_problems(rule.get("tiers"), f"{path}.tiers")
    return problems


def _tier_order_problems(tiers: object, path: str) -> list[tuple[str, str]]:
    if not isinstance(tiers, Mapping) or not isinstance(tiers.get("steps"), list):
        return []
    problems: list[tuple[str, str]] = []
    highest: tuple[int, Decimal] | None = None  # the largest from_native so far and its index
    for index, step in enumerate(tiers["steps"]):
        value = _field(step, "from_native", _AMOUNT)
        if not _known(value):
            continue
        if highest is not None and not value > highest[1]:
            problems.append(
                (
                    f"{path}.steps[{index}].from_native",
                    f"tier steps must be strictly ascending: {to_plain_string(value)} is not greater than "
                    f"steps[{highest[0]}].from_native {to_plain_string(highest[1])}",
                )
            )
        else:
            highest = (index, value)
    return problems


# --- loading -------------------------------------------------------------------------------------


def load_agreement_file(path: str | Path) -> AgreementFile:
    """Read and validate an agreement TOML file; AgreementFileError lists every problem."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise AgreementFileError(
            [(FILE_PATH, f"cannot read {source}: {exc.strerror or exc}")], source
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgreementFileError(
            [(FILE_PATH, f"is not UTF-8 text: {exc.reason} at byte {exc.start}")], source
        ) from None
    return parse_agreement_toml(text, source)


def parse_agreement_toml(text: str, source: str | None = None) -> AgreementFile:
    """Validate agreement TOML given as text (for files read elsewhere, stdin, tests)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgreementFileError([(FILE_PATH, f"invalid TOML: {exc}")], source) from None
    return parse_agreement_data(data, source)


def parse_agreement_data(data: Mapping[str, Any], source: str | None = None) -> AgreementFile:
    """Validate already-decoded TOML data, collecting field errors and cross-field problems together."""
    problems = _relation_problems(data)
    try:
        agreement_file = AgreementFile.model_validate(data)
    except ValidationError as exc:
        field_errors = [_describe(error) for error in exc.errors() if error["type"] != _RELATIONS_ERROR]
        raise AgreementFileError(_in_document_order(field_errors + problems), source) from None
    if problems:  # pragma: no cover - the model validator refuses the same problems
        raise AgreementFileError(_in_document_order(problems), source)
    return agreement_file


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    path = _format_path(error["loc"])
    kind = error["type"]
    if kind == "missing":
        reason = "is required"
    elif kind == "extra_forbidden":
        reason = "is not a known field"
    elif kind == "enum":
        reason = f"{error['input']!r} is not one of {error['ctx']['expected']}"
    elif kind == "value_error":
        reason = str(error["ctx"]["error"])
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        reason = "must be a table"
    elif kind == "list_type":
        reason = "must be an array"
    elif kind == "too_short":
        reason = "must not be empty"
    else:
        reason = error["msg"]
    return path, reason


def _format_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or FILE_PATH


_SECTION_RANK = {FILE_PATH: 0, "partner": 1, "agreement": 2, "clients": 3, "payouts": 4, "rules": 5}
_PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _in_document_order(errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Deduplicated, sections in file order, array items by index: the order a reviewer reads in."""

    def key(item: tuple[str, str]) -> tuple[Any, ...]:
        tokens = [(0, int(i), "") if i else (1, 0, name) for i, name in _PATH_TOKEN.findall(item[0])]
        head = item[0].split(".")[0].split("[")[0]
        return (_SECTION_RANK.get(head, 6), tokens)

    return sorted(dict.fromkeys(errors), key=key)
