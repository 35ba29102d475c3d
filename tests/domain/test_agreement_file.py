"""Agreement files (SPEC §7): what is accepted, what is refused and with which field path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aurora_cli.domain.agreement_file import (
    AgreementFile,
    AgreementFileError,
    AgreementStatus,
    load_agreement_file,
    parse_agreement_data,
    parse_agreement_toml,
)
from aurora_cli.domain.commission import AttributionMethod, RevenueComponent
from aurora_cli.domain.tiers import TierStep, TierTable
from aurora_cli.errors import InvalidInput

# The SPEC §7 example, verbatim.
SPEC_EXAMPLE = """
[partner]
name = "Helios Capital"
legal_entity_name = "Helios Capital Ltd"
contact_email = "ops@helios.example"

[agreement]
name = "Helios referral"
status = "ACTIVE"                      # DRAFT | ACTIVE | SUSPENDED | TERMINATED
effective_from = "2025-01-01T00:00:00Z"
effective_until = "2026-01-01T00:00:00Z"   # optional

[[clients]]                            # the partner's referred stake
chain = "solana-mainnet"
staker_address = "S1"
validator_key = "V1"                   # optional: any validator if absent

[[rules]]
order = 1
chain = "solana-mainnet"               # optional: all chains if absent
validator_key = "V1"                   # optional: all validators if absent
component = "COMMISSION"               # EXEC_FEES | MEV_TIPS | VOTE_REWARDS | COMMISSION
attribution = "CLIENT_REVENUE"         # CLIENT_REVENUE | STAKE_WEIGHT | FIXED_SHARE
rate_bps = 1000
floor_native = "0"                     # optional, per rule per period
cap_native = "5000000000"              # optional, per rule per period

[rules.tiers]                          # optional; replaces rate_bps
mode = "marginal"                      # marginal | retroactive
steps = [ { from_native = "0", rate_bps = 1000 }, { from_native = "100000000000", rate_bps = 1500 } ]
"""

HEADER = """
[partner]
name = "Helios Capital"
contact_email = "ops@helios.example"

[agreement]
name = "Helios referral"
status = "ACTIVE"
effective_from = 2025-01-01T00:00:00Z
"""

RULE = """
[[rules]]
order = 1
component = "MEV_TIPS"
attribution = "STAKE_WEIGHT"
rate_bps = 500
"""


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(AgreementFileError) as caught:
        parse_agreement_toml(text)
    return caught.value.errors


def paths_of(text: str) -> list[str]:
    return [path for path, _reason in errors_of(text)]


class TestAccepted:
    def test_spec_example_loads_from_a_file(self, tmp_path: Path):
        path = tmp_path / "helios.toml"
        path.write_text(SPEC_EXAMPLE)
        agreement = load_agreement_file(path)
        assert agreement.partner.legal_entity_name == "Helios Capital Ltd"
        assert agreement.agreement.status is AgreementStatus.ACTIVE
        assert agreement.agreement.effective_from == datetime(2025, 1, 1, tzinfo=UTC)
        rule = agreement.rules[0]
        assert rule.component is RevenueComponent.COMMISSION
        assert rule.attribution is AttributionMethod.CLIENT_REVENUE
        assert rule.cap_native == Decimal(5_000_000_000)
        assert rule.tier_table() == TierTable(
            "marginal", (TierStep(Decimal(0), 1000), TierStep(Decimal(100_000_000_000), 1500))
        )
        assert rule.recorded_rate_bps == 1000

    def test_tiers_without_rate_record_the_top_tier_rate(self):
        text = (
            HEADER
            + RULE.replace("rate_bps = 500\n", "")
            + (
                '[rules.tiers]\nmode = "retroactive"\n'
                'steps = [{ from_native = "0", rate_bps = 100 }, { from_native = "1000", rate_bps = 300 }]\n'
            )
        )
        rule = parse_agreement_toml(text).rules[0]
        assert rule.rate_bps is None
        assert rule.recorded_rate_bps == 300

    def test_offset_datetimes_are_stored_in_utc(self):
        text = HEADER.replace("2025-01-01T00:00:00Z", '"2025-01-01T02:00:00+02:00"') + RULE
        assert parse_agreement_toml(text).agreement.effective_from == datetime(2025, 1, 1, tzinfo=UTC)

    def test_integer_amounts_are_accepted(self):
        text = HEADER + RULE + "cap_native = 5000000000\n"
        assert parse_agreement_toml(text).rules[0].cap_native == Decimal(5_000_000_000)

    def test_clients_are_optional(self):
        assert parse_agreement_toml(HEADER + RULE).clients == []


class TestRefused:
    """Each invalid class of SPEC §7, with the path a reviewer needs to find it."""

    def test_unknown_enum_value(self):
        errors = errors_of(HEADER.replace('"ACTIVE"', '"LIVE"') + RULE)
        assert errors == [
            ("agreement.status", "'LIVE' is not one of 'DRAFT', 'ACTIVE', 'SUSPENDED' or 'TERMINATED'")
        ]

    def test_unknown_component_and_attribution(self):
        text = HEADER + RULE.replace('"MEV_TIPS"', '"MEV"').replace('"STAKE_WEIGHT"', '"SHARE"')
        assert paths_of(text) == ["rules[0].attribution", "rules[0].component"]

    def test_bps_out_of_range(self):
        errors = errors_of(HEADER + RULE.replace("500", "10001"))
        assert errors == [("rules[0].rate_bps", "10001 is outside 0..10000 basis points")]

    def test_negative_bps(self):
        assert paths_of(HEADER + RULE.replace("500", "-1")) == ["rules[0].rate_bps"]

    def test_bps_must_be_an_integer(self):
        assert paths_of(HEADER + RULE.replace("500", "500.0")) == ["rules[0].rate_bps"]
        assert paths_of(HEADER + RULE.replace("500", '"500"')) == ["rules[0].rate_bps"]

    def test_tier_bps_out_of_range(self):
        text = (
            HEADER
            + RULE
            + '[rules.tiers]\nmode = "marginal"\nsteps = [{ from_native = "0", rate_bps = 20000 }]\n'
        )
        assert paths_of(text) == ["rules[0].tiers.steps[0].rate_bps"]

    def test_floor_above_cap(self):
        errors = errors_of(HEADER + RULE + 'floor_native = "10"\ncap_native = "4"\n')
        assert errors == [("rules[0].floor_native", "floor_native 10 is greater than cap_native 4")]

    def test_tiers_not_ascending(self):
        text = (
            HEADER
            + RULE
            + '[rules.tiers]\nmode = "marginal"\nsteps = [{ from_native = "100", rate_bps = 1000 }, '
            '{ from_native = "100", rate_bps = 1500 }, { from_native = "50", rate_bps = 2000 }]\n'
        )
        assert paths_of(text) == [
            "rules[0].tiers.steps[1].from_native",
            "rules[0].tiers.steps[2].from_native",
        ]

    def test_empty_tier_steps(self):
        text = HEADER + RULE + '[rules.tiers]\nmode = "marginal"\nsteps = []\n'
        assert errors_of(text) == [("rules[0].tiers.steps", "must not be empty")]

    @pytest.mark.parametrize("component", ["EXEC_FEES", "MEV_TIPS"])
    def test_client_revenue_without_per_client_revenue(self, component):
        text = HEADER + RULE.replace('"MEV_TIPS"', f'"{component}"').replace(
            '"STAKE_WEIGHT"', '"CLIENT_REVENUE"'
        )
        [(path, reason)] = errors_of(text)
        assert path == "rules[0].attribution"
        assert f"CLIENT_REVENUE cannot be used with {component}" in reason

    def test_unknown_field(self):
        assert errors_of(HEADER + RULE + 'cap_natve = "5"\n') == [
            ("rules[0].cap_natve", "is not a known field")
        ]

    def test_unknown_section(self):
        assert paths_of(HEADER + RULE + '[extras]\nnote = "x"\n') == ["extras"]

    def test_naive_datetime(self):
        errors = errors_of(HEADER.replace("2025-01-01T00:00:00Z", "2025-01-01T00:00:00") + RULE)
        assert errors == [("agreement.effective_from", "has no UTC offset; write e.g. 2025-01-01T00:00:00Z")]

    def test_naive_datetime_string(self):
        text = HEADER.replace("2025-01-01T00:00:00Z", '"2025-01-01T00:00:00"') + RULE
        assert paths_of(text) == ["agreement.effective_from"]

    def test_date_without_time(self):
        assert paths_of(HEADER.replace("2025-01-01T00:00:00Z", "2025-01-01") + RULE) == [
            "agreement.effective_from"
        ]

    def test_float_amount(self):
        [(path, reason)] = errors_of(HEADER + RULE + "cap_native = 5000000000.0\n")
        assert path == "rules[0].cap_native"
        assert "float" in reason

    def test_negative_and_exponent_amounts(self):
        text = HEADER + RULE + 'floor_native = "-1"\ncap_native = "5e9"\n'
        assert paths_of(text) == ["rules[0].cap_native", "rules[0].floor_native"]

    def test_bad_toml(self):
        [(path, reason)] = errors_of(HEADER + "[[rules]\norder = 1\n")
        assert path == "<file>"
        assert reason.startswith("invalid TOML:")
        assert "line" in reason

    def test_unreadable_file(self, tmp_path: Path):
        with pytest.raises(AgreementFileError) as caught:
            load_agreement_file(tmp_path / "missing.toml")
        assert caught.value.errors[0][0] == "<file>"

    def test_missing_sections_and_fields(self):
        text = '[agreement]\nname = "x"\n'
        assert paths_of(text) == [
            "partner",
            "agreement.effective_from",
            "agreement.status",
            "rules",
        ]

    def test_rate_required_without_tiers(self):
        errors = errors_of(HEADER + RULE.replace("rate_bps = 500\n", ""))
        assert errors == [("rules[0].rate_bps", "is required unless [rules.tiers] is given")]

    def test_duplicate_rule_order(self):
        errors = errors_of(HEADER + RULE + RULE)
        assert errors == [("rules[1].order", "order 1 is already used by rules[0]")]

    def test_effective_until_before_from(self):
        text = HEADER + 'effective_until = "2024-12-31T00:00:00Z"\n' + RULE
        assert paths_of(text) == ["agreement.effective_until"]

    def test_version_effective_from_outside_the_agreement(self):
        text = (
            HEADER
            + 'effective_until = "2026-01-01T00:00:00Z"\nversion_effective_from = "2026-02-01T00:00:00Z"\n'
        )
        assert paths_of(text + RULE) == ["agreement.version_effective_from"]
        text = HEADER + 'version_effective_from = "2024-02-01T00:00:00Z"\n'
        assert paths_of(text + RULE) == ["agreement.version_effective_from"]

    def test_duplicate_client(self):
        client = '[[clients]]\nchain = "solana-mainnet"\nstaker_address = "S1"\n'
        assert paths_of(HEADER + client + client + RULE) == ["clients[1]"]

    def test_blank_and_padded_strings(self):
        text = HEADER + '[[clients]]\nchain = ""\nstaker_address = "S1 "\n' + RULE
        assert paths_of(text) == ["clients[0].chain", "clients[0].staker_address"]

    def test_bad_email(self):
        assert paths_of(HEADER.replace("ops@helios.example", "ops") + RULE) == ["partner.contact_email"]

    def test_rules_as_a_table_not_an_array(self):
        text = HEADER + "[rules]\norder = 1\n"
        assert paths_of(text) == ["rules"]


def test_every_error_of_a_file_is_listed_together():
    # Field errors and cross-field problems in several sections and rules, all in one report, in
    # file order. floor > cap on rule 0 is reported although the same rule also has a bad rate.
    text = """
[partner]
name = "Helios Capital"
contact_email = "ops@helios.example"
colour = "blue"

[agreement]
name = "Helios referral"
status = "ACTIV"
effective_from = 2025-01-01T00:00:00
effective_until = "2026-01-01T00:00:00Z"

[[rules]]
order = 1
component = "EXEC_FEES"
attribution = "CLIENT_REVENUE"
rate_bps = 10001
floor_native = "5"
cap_native = "4"

[[rules]]
order = 1
component = "VOTE_REWARDS"
attribution = "FIXED_SHARE"
cap_native = 1.5
[rules.tiers]
mode = "stepped"
steps = [ { from_native = "100", rate_bps = 1000 }, { from_native = "10", rate_bps = 1500 } ]
"""
    with pytest.raises(AgreementFileError) as caught:
        parse_agreement_toml(text, source="helios.toml")
    error = caught.value
    assert [path for path, _ in error.errors] == [
        "partner.colour",
        "agreement.effective_from",
        "agreement.status",
        "rules[0].attribution",
        "rules[0].floor_native",
        "rules[0].rate_bps",
        "rules[1].cap_native",
        "rules[1].order",
        "rules[1].tiers.mode",
        "rules[1].tiers.steps[1].from_native",
    ]
    # The error is the project's InvalidInput, so the CLI renders it (and its details) like any other.
    assert isinstance(error, InvalidInput)
    assert error.details == error.errors
    assert str(error) == "helios.toml is invalid (10 errors): correct the listed fields and try again"


def test_models_built_in_python_are_checked_too():
    data = {
        "partner": {"name": "P", "contact_email": "p@example.com"},
        "agreement": {"name": "A", "status": "ACTIVE", "effective_from": "2025-01-01T00:00:00Z"},
        "rules": [
            {"order": 1, "component": "MEV_TIPS", "attribution": "CLIENT_REVENUE", "rate_bps": 1},
        ],
    }
    with pytest.raises(ValueError, match="CLIENT_REVENUE cannot be used with MEV_TIPS"):
        AgreementFile.model_validate(data)
    with pytest.raises(AgreementFileError) as caught:
        parse_agreement_data(data)
    assert [path for path, _ in caught.value.errors] == ["rules[0].attribution"]


class TestNormalizedTerms:
    def test_shape_of_the_spec_example(self):
        terms = parse_agreement_toml(SPEC_EXAMPLE).normalized_terms()
        assert terms == {
            "partner": {
                "name": "Helios Capital",
                "legal_entity_name": "Helios Capital Ltd",
                "contact_email": "ops@helios.example",
                "contact_name": None,
            },
            "agreement": {
                "name": "Helios referral",
                "status": "ACTIVE",
                "effective_from": "2025-01-01T00:00:00+00:00",
                "effective_until": "2026-01-01T00:00:00+00:00",
            },
            "clients": [{"chain": "solana-mainnet", "staker_address": "S1", "validator_key": "V1"}],
            "rules": [
                {
                    "order": 1,
                    "chain": "solana-mainnet",
                    "validator_key": "V1",
                    "component": "COMMISSION",
                    "attribution": "CLIENT_REVENUE",
                    "rate_bps": 1000,
                    "floor_native": "0",
                    "cap_native": "5000000000",
                    "tiers": {
                        "mode": "marginal",
                        "steps": [
                            {"from_native": "0", "rate_bps": 1000},
                            {"from_native": "100000000000", "rate_bps": 1500},
                        ],
                    },
                }
            ],
        }

    def test_layout_and_ordering_do_not_change_the_terms(self):
        first = """
[partner]
name = "Helios Capital"
contact_email = "ops@helios.example"
[agreement]
name = "Helios referral"
status = "ACTIVE"
effective_from = 2025-01-01T00:00:00Z
[[clients]]
chain = "solana-mainnet"
staker_address = "S1"
[[clients]]
chain = "solana-mainnet"
staker_address = "S2"
validator_key = "V1"
[[rules]]
order = 1
component = "COMMISSION"
attribution = "CLIENT_REVENUE"
rate_bps = 1000
cap_native = "5000000000"
[[rules]]
order = 2
component = "MEV_TIPS"
attribution = "STAKE_WEIGHT"
rate_bps = 500
"""
        # Same terms: rules and clients reordered, keys reordered, inline tables, an equivalent
        # amount spelling (int / trailing zeros) and the same instant in another offset.
        second = """
agreement = { effective_from = "2025-01-01T01:00:00+01:00", status = "ACTIVE", name = "Helios referral" }
partner = { contact_email = "ops@helios.example", name = "Helios Capital" }

[[rules]]
rate_bps = 500
attribution = "STAKE_WEIGHT"
component = "MEV_TIPS"
order = 2

[[rules]]
cap_native = 5000000000
order = 1
rate_bps = 1000
component = "COMMISSION"
attribution = "CLIENT_REVENUE"

[[clients]]
validator_key = "V1"
staker_address = "S2"
chain = "solana-mainnet"

[[clients]]
staker_address = "S1"
chain = "solana-mainnet"
"""
        terms = parse_agreement_toml(first).normalized_terms()
        assert parse_agreement_toml(second).normalized_terms() == terms
        assert [rule["order"] for rule in terms["rules"]] == [1, 2]
        assert [client["staker_address"] for client in terms["clients"]] == ["S1", "S2"]
        assert (
            parse_agreement_toml(first.replace('"5000000000"', '"5000000000.000"')).normalized_terms()
            == terms
        )

    def test_changed_terms_change_the_dict(self):
        base = parse_agreement_toml(HEADER + RULE).normalized_terms()
        assert parse_agreement_toml(HEADER + RULE.replace("500", "501")).normalized_terms() != base

    def test_version_effective_from_is_not_a_term(self):
        base = parse_agreement_toml(HEADER + RULE).normalized_terms()
        moved = parse_agreement_toml(HEADER + 'version_effective_from = "2025-06-01T00:00:00Z"\n' + RULE)
        assert moved.agreement.version_effective_from == datetime(2025, 6, 1, tzinfo=UTC)
        assert moved.normalized_terms() == base

    def test_terms_are_json_serializable(self):
        import json

        terms = parse_agreement_toml(SPEC_EXAMPLE).normalized_terms()
        assert json.loads(json.dumps(terms, sort_keys=True)) == terms
