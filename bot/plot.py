"""A picture of the statistics: questions per day and the answered share (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path

from .feedback import FeedbackError, Stats

INSTALL_HINT = "pip install 'dated-sources-bot[plot]' (or pip install matplotlib)"


def save_plot(stats: Stats, path: Path) -> None:
    """Draw questions per day (answered and not) with the answered share, into a PNG file."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator, PercentFormatter
    except ImportError:
        raise FeedbackError(f"stats --plot needs matplotlib: {INSTALL_HINT}") from None
    labels = [d.day.strftime("%m-%d") for d in stats.days]
    answered = [d.answered for d in stats.days]
    missed = [d.questions - d.answered for d in stats.days]
    shares = [d.answered / d.questions if d.questions else None for d in stats.days]

    # The object API, not pyplot: no global state, no display needed.
    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(labels))
    axes.bar(positions, answered, color="#4c72b0", label="answered")
    axes.bar(positions, missed, bottom=answered, color="#dd8452", label="not found")
    axes.set_xticks(list(positions), labels, rotation=45, ha="right")
    axes.set_ylabel("questions")
    axes.set_ylim(0, max(1, *(d.questions for d in stats.days)) * 1.3)  # room for the legend
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    share_axes = axes.twinx()
    points = [(x, s) for x, s in zip(positions, shares, strict=True) if s is not None]
    if points:
        xs, ys = zip(*points, strict=True)
        share_axes.plot(xs, ys, color="#2d2d2d", marker="o", label="answered share")
    share_axes.set_ylim(0, 1.05)
    share_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    share_axes.set_ylabel("answered share")
    first, last = stats.days[0].day, stats.days[-1].day
    axes.set_title(
        f"Questions per day, {first.isoformat()} to {last.isoformat()} (UTC): "
        f"{stats.questions} asked, {stats.answered_share:.0%} answered"
    )
    handles, names = axes.get_legend_handles_labels()
    more, more_names = share_axes.get_legend_handles_labels()
    axes.legend(handles + more, names + more_names, loc="upper left")
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise FeedbackError(f"stats --plot: {path} cannot be written: {exc.strerror}") from None
