"""Dataset statistics in the form of V-D4RL Appendix A (Table 5)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ReturnStatistics:
    timesteps: int  # transitions
    episodes: int
    mean: float
    std: float
    min: float
    p25: float
    median: float
    p75: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def return_statistics(returns: np.ndarray, timesteps: int) -> ReturnStatistics:
    """Episode-return statistics; ``std`` is the population standard deviation (ddof=0)."""
    r = np.asarray(returns, np.float64)
    if r.size == 0:
        raise ValueError("no episodes")
    p25, median, p75 = np.percentile(r, [25, 50, 75])
    return ReturnStatistics(
        int(timesteps),
        int(r.size),
        float(r.mean()),
        float(r.std()),
        float(r.min()),
        float(p25),
        float(median),
        float(p75),
        float(r.max()),
    )


def format_timesteps(n: int) -> str:
    return f"{n / 1000:.0f}K" if n >= 10_000 and n % 1000 == 0 else str(n)


def statistics_table(rows: list[tuple[str, ReturnStatistics]]) -> str:
    """A Markdown table with V-D4RL Table 5's columns."""
    header = "| Dataset | Timesteps | Episodes | Mean | Std. Dev. | Min. | P25 | Median | P75 | Max. |"
    lines = [header, "|" + "---|" * 10]
    for name, s in rows:
        lines.append(
            f"| {name} | {format_timesteps(s.timesteps)} | {s.episodes} | {s.mean:.1f} | {s.std:.1f} | "
            f"{s.min:.1f} | {s.p25:.1f} | {s.median:.1f} | {s.p75:.1f} | {s.max:.1f} |"
        )
    return "\n".join(lines)
