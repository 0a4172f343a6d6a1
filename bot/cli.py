"""The command line: index, ask, sources, add, remove, run, eval, stats, feedback."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from tqdm import tqdm

from index import SearchIndexError, SwapRefusedError

from . import config as configmod
from . import evaluate, feedback, feedback_store, logs, render_console, render_json, sources, views
from .answer import ask
from .config import Config, ConfigError
from .corpus import build, open_index
from .views import report_lines

Command = Callable[[argparse.Namespace, Config], int]


def _cmd_index(args: argparse.Namespace, config: Config) -> int:
    with tqdm(
        total=0, unit="file", desc="Indexing", disable=not sys.stderr.isatty(), leave=False
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        with tqdm(
            total=0, unit="passage", desc="Embedding", disable=not sys.stderr.isatty(), leave=False
        ) as embed_bar:

            def embedding_progress(done: int, total: int) -> None:
                embed_bar.total = total
                embed_bar.n = done
                embed_bar.refresh()

            try:
                report = build(config, progress, embedding_progress, force=args.force)
            except SwapRefusedError as exc:
                raise SwapRefusedError(
                    f"{exc}: python -m bot index --force", exc.previous, exc.built
                ) from None
    print("\n".join(report_lines(report)))
    print(f"Index: {config.index_path}")
    return 0


def _cmd_ask(args: argparse.Namespace, config: Config) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise ConfigError(
            'ask: give a question, for example: python -m bot ask "What did Peru commit to?"'
        )
    index = open_index(config)
    try:
        answer = ask(index, question, limit=args.limit or config.max_citations)
    finally:
        index.close()
    print(render_json.to_json(answer) if args.json else render_console.to_text(answer))
    return 0


def _cmd_sources(args: argparse.Namespace, config: Config) -> int:
    index = open_index(config)
    try:
        listing = views.source_list(index.sources(), index.skipped())
    finally:
        index.close()
    for line in render_console.source_lines(listing):
        print(line)
    return 0


def _cmd_eval(args: argparse.Namespace, config: Config) -> int:
    questions = evaluate.load(args.file)
    index = open_index(config)
    try:
        report = evaluate.evaluate(index, questions, limit=config.max_citations)
    finally:
        index.close()
    print(evaluate.format_report(report))
    metrics = report.metrics()
    failed = [
        f"{name} {metrics[name]:.3f} < {minimum}"
        for name, minimum in (
            ("hit@1", args.min_hit1),
            ("hit@3", args.min_hit3),
            ("mrr", args.min_mrr),
            ("not_found_precision", args.min_none_precision),
            ("not_found_recall", args.min_none_recall),
            ("date_accuracy", args.min_date_accuracy),
            ("verbatim", args.min_verbatim),
        )
        if minimum is not None and metrics[name] < minimum
    ]
    print(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    if failed:
        print("below threshold: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def _cmd_stats(args: argparse.Namespace, config: Config) -> int:
    store = feedback_store.open_store(config.feedback_path, config.feedback.store_ids)
    try:
        stats = store.stats(args.days)
    finally:
        store.close()
    if args.plot is not None:
        from .plot import save_plot  # matplotlib is an optional extra

        save_plot(stats, args.plot)
    if args.json:
        print(json.dumps(render_json.stats_dict(stats), ensure_ascii=False))
    else:
        print(render_console.stats_text(stats))
        if args.plot is not None:
            print(f"Plot: {args.plot}")
    return 0


def _cmd_feedback_export(args: argparse.Namespace, config: Config) -> int:
    store = feedback_store.open_store(config.feedback_path, config.feedback.store_ids)
    try:
        export = store.export()
    finally:
        store.close()
    for line in render_console.gold_lines(export):
        print(line)
    print(
        f"{len(export.items)} gold question(s); {len(export.incomplete)} to complete by hand "
        "(as # comments at the end)",
        file=sys.stderr,
    )
    return 0


def _cmd_add(args: argparse.Namespace, config: Config) -> int:
    target: str = args.target
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", target):
        page = asyncio.run(sources.fetch(target, config.sources))
        index = open_index(config)
        try:
            known = {s.url: s.path for s in index.sources() if s.url}
        finally:
            index.close()
        now = dt.datetime.now(dt.UTC)
        saved = sources.save_page(config.corpus, config.sources, page, now, known)
    else:
        path = Path(target)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"add: {target!r} cannot be read: {exc.strerror or exc}") from None
        saved = sources.save_file(config.corpus, config.sources, path.name, data)
    report = build(config)
    reason = sources.not_indexed(saved, [(s.path, s.reason) for s in report.skipped])
    if reason is not None:
        sources.discard(config.corpus, saved)
        raise sources.AddError(f"{saved.path} was not added: {reason}")
    print(sources.describe(saved))
    print("\n".join(report_lines(report)))
    return 0


def _cmd_remove(args: argparse.Namespace, config: Config) -> int:
    moved = sources.remove(config.corpus, config.sources, args.path)
    report = build(config)
    print(f"Removed {args.path}; moved to {moved}")
    print("\n".join(report_lines(report)))
    return 0


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from telegram.error import InvalidToken, NetworkError

    from .telegram_app import ALLOWED_UPDATES, build_application, webhook_options

    token = config.telegram.token
    if not token:
        raise ConfigError(
            "no bot token: set the TELEGRAM_BOT_TOKEN environment variable or [telegram] token "
            'in config.toml (see config.example.toml); `python -m bot ask "…"` works without one'
        )
    logs.setup(logging.DEBUG if args.verbose else logging.INFO)
    # Durations from the Bot API as timedelta, the type python-telegram-bot is moving to.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    app = build_application(config)
    try:
        if config.telegram.webhook_url:
            app.run_webhook(**webhook_options(config))
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken:
        raise ConfigError(
            "Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN or [telegram] token"
        ) from None
    except NetworkError as exc:
        raise ConfigError(f"cannot reach the Telegram Bot API: {exc}") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions from dated source documents, with cited excerpts.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _answering_commands(sub, common)
    _corpus_commands(sub, common)
    _measuring_commands(sub, common)
    _feedback_commands(sub, common)
    return parser


_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes: where the config, corpus and index are."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="TOML config file (default: config.toml if present)"
    )
    common.add_argument(
        "--corpus", type=Path, help="corpus folder (.txt, .md, .html, .pdf, .docx sources)"
    )
    common.add_argument("--db", type=Path, help="index file (SQLite)")
    common.add_argument("-v", "--verbose", action="store_true", help="log more detail")

    return common


def _answering_commands(sub: _Commands, common: argparse.ArgumentParser) -> None:
    """index and ask."""
    p = sub.add_parser("index", parents=[common], help="build or refresh the index")
    p.add_argument(
        "--force",
        action="store_true",
        help="swap the new index in even when it drops more sources than index.max_drop_share",
    )
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer a question from the command line")
    p.add_argument("question", nargs="+", help='the question, e.g. "What did Peru commit to?"')
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--limit", type=_positive, help="how many citations (default from config)")
    p.set_defaults(func=_cmd_ask)


def _corpus_commands(sub: _Commands, common: argparse.ArgumentParser) -> None:
    """add, remove and run."""
    p = sub.add_parser(
        "add", parents=[common], help="add a file or a link to the corpus, then index"
    )
    p.add_argument("target", help="a .txt/.md/.html/.pdf/.docx file, or an http(s) link")
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser(
        "remove", parents=[common], help="move a source to the trash folder, then index"
    )
    p.add_argument("path", help="the source's path in the corpus, e.g. inbox/report.pdf")
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("run", parents=[common], help="run the Telegram bot")
    p.set_defaults(func=_cmd_run)


def _measuring_commands(sub: _Commands, common: argparse.ArgumentParser) -> None:
    """eval and sources."""
    p = sub.add_parser("eval", parents=[common], help="measure answers against a gold set")
    p.add_argument("file", type=Path, help="JSON Lines gold set")
    for flag, name in (
        ("--min-hit1", "hit@1"),
        ("--min-hit3", "hit@3"),
        ("--min-mrr", "MRR"),
        ("--min-none-precision", "not-found precision"),
        ("--min-none-recall", "not-found recall"),
        ("--min-date-accuracy", "date accuracy"),
        ("--min-verbatim", "share of verbatim excerpts"),
    ):
        p.add_argument(flag, type=float, metavar="X", help=f"exit 1 when {name} is below X")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("sources", parents=[common], help="list the indexed sources")
    p.set_defaults(func=_cmd_sources)


def _feedback_commands(sub: _Commands, common: argparse.ArgumentParser) -> None:
    """stats and feedback export."""
    p = sub.add_parser(
        "stats", parents=[common], help="questions, answers and votes of the last days"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="also draw questions per day (matplotlib)"
    )
    p.add_argument(
        "--days",
        type=_days,
        default=feedback.DEFAULT_DAYS,
        help=f"how many days back, today included (default {feedback.DEFAULT_DAYS})",
    )
    p.set_defaults(func=_cmd_stats)

    p = sub.add_parser("feedback", help="what people said of the answers")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = actions.add_parser(
        "export",
        parents=[common],
        help="print a gold set (JSON Lines for eval) made from the votes",
    )
    e.set_defaults(func=_cmd_feedback_export)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= n <= 50:
        raise argparse.ArgumentTypeError("must be between 1 and 50")
    return n


def _days(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= n <= 3660:
        raise argparse.ArgumentTypeError("must be between 1 and 3660")
    return n


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    logs.setup(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        config = configmod.load(args.config, corpus=args.corpus, db=args.db)
        command: Command = args.func
        return command(args, config)
    except (
        ConfigError,
        SearchIndexError,
        evaluate.GoldSetError,
        sources.AddError,
        feedback.FeedbackError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; nothing is left to report.
        sys.stderr.close()
        return 0
