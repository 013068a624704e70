"""Small timing and reporting helpers shared by the benchmarks (no Django imports)."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

# Human-readable output goes here; run.py points it at stderr when --json is given
# so that stdout carries nothing but the JSON document.
OUT = sys.stdout


def say(*parts, **kwargs):
    print(*parts, file=OUT, flush=True, **kwargs)


def clock():
    return time.perf_counter()


def summary(samples):
    """Median and spread of a list of durations (seconds)."""
    samples = list(samples)
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "median": statistics.median(ordered),
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "stdev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
    }


def fmt_s(seconds):
    return f"{seconds:.3f} s"


def fmt_ms(seconds):
    return f"{seconds * 1000:.2f} ms"


@dataclass
class Row:
    """One line of the final summary table (and one entry of the JSON "summary")."""

    bench: str
    metric: str
    value: float  # seconds
    baseline_metric: str = ""
    baseline: float | None = None  # seconds
    unit: str = "s"  # how to print value/baseline: "s" or "ms"
    target: str = ""
    verdict: str = ""  # PASS / FAIL / "" (informational)
    note: str = ""
    baseline_unit: str = ""  # defaults to unit

    @property
    def ratio(self):
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def as_dict(self):
        data = asdict(self)
        data["ratio"] = self.ratio
        return data


@dataclass
class Result:
    name: str
    title: str
    rows: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def as_dict(self):
        return {"name": self.name, "title": self.title, "rows": [r.as_dict() for r in self.rows], "details": self.details}


def fmt_value(seconds, unit):
    if seconds is None:
        return "-"
    return fmt_ms(seconds) if unit == "ms" else fmt_s(seconds)


def print_table(headers, rows):
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    say(line)
    say("  ".join("-" * w for w in widths))
    for row in rows:
        say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def print_summary(results):
    headers = ["benchmark", "measured", "value", "baseline", "base value", "ratio", "target", "verdict"]
    table = []
    for result in results:
        for row in result.rows:
            ratio = row.ratio
            table.append(
                [
                    row.bench,
                    row.metric,
                    fmt_value(row.value, row.unit),
                    row.baseline_metric or "-",
                    fmt_value(row.baseline, row.baseline_unit or row.unit),
                    f"{ratio:.2f}x" if ratio is not None else "-",
                    row.target or "-",
                    row.verdict or "info",
                ]
            )
    print_table(headers, table)
