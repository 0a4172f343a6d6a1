"""How many files of a real blog get a date and the title their front matter states.

    python bench/dates.py FOLDER [FOLDER …]

Reads every .md/.markdown file with the index's own reader (no index is built), and checks
the title against the front matter's own `title`, read here independently.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

import yaml

from index.documents import Document, parse

_YAML_RE = re.compile(r"---[ \t]*\r?\n(.*?)\r?\n---", re.S)
_TOML_RE = re.compile(r"\+\+\+[ \t]*\r?\n(.*?)\r?\n\+\+\+", re.S)


def stated_title(text: str) -> str | None:
    """The front matter's title, read independently of the index's reader."""
    try:
        if match := _TOML_RE.match(text):
            value = tomllib.loads(match.group(1)).get("title")
        elif match := _YAML_RE.match(text):
            data = yaml.safe_load(match.group(1))
            value = data.get("title") if isinstance(data, dict) else None
        else:
            return None
    except (tomllib.TOMLDecodeError, yaml.YAMLError):
        return None
    return " ".join(value.split()) if isinstance(value, str) else None


def measure(folder: Path) -> dict[str, object]:
    """Counts for one folder."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".markdown"))
    docs, dated, titled, with_title = 0, 0, 0, 0
    origins: Counter[str] = Counter()
    for path in files:
        data = path.read_bytes()
        doc = parse(path.relative_to(folder).as_posix(), data)
        if not isinstance(doc, Document):
            continue
        docs += 1
        if doc.date is not None:
            dated += 1
            origins[str(getattr(doc, "date_origin", "?"))] += 1
        title = stated_title(data.decode("utf-8", "replace"))
        if title is not None:
            with_title += 1
            titled += doc.title == title
    return {
        "folder": folder.name,
        "files": len(files),
        "indexed": docs,
        "dated": dated,
        "front_matter_titles": with_title,
        "titles_read": titled,
        "date_from": dict(origins.most_common()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    rows = [measure(f) for f in args.folders]
    print(f"{'folder':<14} {'files':>6} {'indexed':>8} {'dated':>6} {'titles':>12}  date from")
    for r in rows:
        titles = f"{r['titles_read']}/{r['front_matter_titles']}"
        print(
            f"{r['folder']:<14} {r['files']:>6} {r['indexed']:>8} {r['dated']:>6} {titles:>12}"
            f"  {r['date_from']}"
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
