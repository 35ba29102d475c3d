"""The README's generated parts, so they never drift: the command table (from the commands' --help)
and the deploy/ files it embeds.

`python scripts/gen_command_table.py` prints the table; `--write` rewrites README.md: the table
between `<!-- commands:start -->` and `<!-- commands:end -->`, and each
`<!-- embed:deploy/FILE -->` … `<!-- /embed -->` block with that file's content.
tests/test_readme_commands.py fails when README.md and either source disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EMBED = re.compile(r"(<!-- embed:(?P<path>[^ ]+) -->\n)(?P<body>.*?)(<!-- /embed -->)", re.S)
# Commands registered without a permission check their caller themselves (or need no login at all).
WHO_INSIDE = {
    "db up": "whoever owns the data directory",
    "db stop": "whoever owns the data directory",
    "db status": "whoever owns the data directory",
    "db upgrade": "ADMIN once users exist",
    "db downgrade": "ADMIN once users exist",
    "db backup": "ADMIN",
    "db restore": "ADMIN",
    "users bootstrap-admin": "anyone, only while no user exists",
    "login": "any user",
    "logout": "any user",
}
FENCES = {".service": "ini", ".timer": "ini", ".crontab": "cron"}
START, END = "<!-- commands:start -->", "<!-- commands:end -->"


def _leaves(path: str, command, ctx) -> list[tuple[str, object]]:  # noqa: ANN001
    subs = getattr(command, "commands", None)
    if not subs:
        return [(path, command)]
    # A group that runs on its own too (`aurora db backup`) is a row of its own.
    out: list[tuple[str, object]] = [(path, command)] if getattr(command, "invoke_without_command", False) else []
    for name in subs:
        out += _leaves(f"{path} {name}", subs[name], ctx)
    return out


def _synopsis(command) -> str:  # noqa: ANN001
    """Required options and arguments, as `--chain CHAIN --period PERIOD FILE`."""
    words: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        if param.param_type_name == "argument":
            words.append(param.name.upper())
        else:
            words.append(f"{param.opts[0]} {param.opts[0].lstrip('-').upper().replace('-', '_')}")
    return " ".join(words)


def _first_line(command) -> str:  # noqa: ANN001
    text = (command.help or "").strip().split("\n\n", 1)[0]
    return " ".join(text.split()).replace("|", "\\|")


def command_table() -> str:
    from aurora_cli.cli.app import COMMANDS, load_command
    from aurora_cli.cli.frame import PERMISSIONS
    from aurora_cli.domain.permissions import WHO_MAY

    rows = ["| command | what it does | who |", "|---|---|---|"]
    for name in COMMANDS:
        for path, command in _leaves(name, load_command(name), None):
            permission = PERMISSIONS.get(path)
            if permission is None:
                who = WHO_INSIDE.get(path, "any user")
            else:
                who = WHO_MAY[permission].replace(" or ", ", ")
            synopsis = _synopsis(command)
            shown = f"aurora {path}" + (f" {synopsis}" if synopsis else "")
            rows.append(f"| `{shown}` | {_first_line(command)} | {who} |")
    return "\n".join(rows) + "\n"


def readme_with_table(text: str, table: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def embedded_block(path: str) -> str:
    """A repository file as the README shows it: fenced, verbatim."""
    content = (REPO / path).read_text(encoding="utf-8")
    fence = FENCES.get(Path(path).suffix, "")
    return f"```{fence}\n{content.rstrip()}\n```\n"


def readme_with_embeds(text: str) -> str:
    return EMBED.sub(lambda m: m.group(1) + embedded_block(m.group("path")) + m.group(4), text)


def generated_readme(text: str) -> str:
    return readme_with_embeds(readme_with_table(text, command_table()))


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        README.write_text(generated_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(command_table())
