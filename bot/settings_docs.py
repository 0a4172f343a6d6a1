"""config.example.toml and the README's settings table, made from the one table of settings
(bot/settings.py): `python -m bot.settings_docs example > config.example.toml`,
`python -m bot.settings_docs readme` for the table to paste into README.md."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from .settings import SECTIONS, SETTINGS

_EXAMPLE_HEADER = """\
# Copy to config.toml (read by default) or pass --config FILE.
# Relative paths are relative to the folder of this file.
# Command-line flags (--corpus, --db) override the file.
# Generated from bot/settings.py (`python -m bot.settings_docs example`): edit it there.
"""


def example() -> str:
    """config.example.toml: every key with its comment and default."""
    out = [_EXAMPLE_HEADER]
    for section, intro in SECTIONS.items():
        out.append(f"\n[{section}]\n")
        out.extend(f"# {line}\n" for line in intro.splitlines())
        for setting in (s for s in SETTINGS if s.section == section):
            out.extend(f"# {line}\n" for line in setting.doc.splitlines())
            out.append(f"{setting.key} = {toml_value(setting.default)}\n")
    return "".join(out)


def readme_table() -> str:
    """The README's table of settings, one row per key."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `[{s.section}] {s.key}` | `{toml_value(s.default)}` | {s.summary} |")
    return "\n".join(rows) + "\n"


def toml_value(value: Any) -> str:
    """A default as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Print config.example.toml or the README's settings table."""
    parser = argparse.ArgumentParser(prog="python -m bot.settings_docs", description=main.__doc__)
    parser.add_argument("what", choices=("example", "readme"))
    args = parser.parse_args(argv)
    print(example() if args.what == "example" else readme_table(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
