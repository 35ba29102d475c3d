"""Temporary re-export for `cli/commissions_cmd.py`, which still imports its options from here.

The pipeline's commands live in periods_cmd, steps_cmd, pnl_cmd and runs_cmd; the options in
`cli/options.py`. Delete this module once commissions_cmd imports `aurora_cli.cli.options`.
"""

from aurora_cli.cli.options import Chain, NoWait
from aurora_cli.cli.options import Period as PeriodOpt

__all__ = ["Chain", "NoWait", "PeriodOpt"]
