"""The reports' figures: matplotlib on its Agg backend (no display on a cluster node or in CI), and one way to save.

Every report module takes ``plt`` from here and ends each figure with ``save_figure``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["grouped_bars", "plt", "save_figure"]


def grouped_bars(axis, groups: Dict[str, Sequence[float]], names: Sequence[str], errors: Optional[Dict] = None,
                 legend_size: int = 8) -> None:
    """One group of bars per name, one bar per ``groups`` label; ``errors``: {label: yerr} as matplotlib takes it
    (one value per bar, or [lows, highs] below and above each bar)."""
    width = 0.8 / max(len(groups), 1)
    for index, (label, values) in enumerate(groups.items()):
        positions = [position + (index - (len(groups) - 1) / 2) * width for position in range(len(names))]
        axis.bar(positions, values, width, label=label, yerr=(errors or {}).get(label), capsize=3)
    axis.set_xticks(range(len(names)), names)
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=legend_size)


def save_figure(figure, path: Path, dpi: int = 100) -> Path:
    """Lay ``figure`` out, write it to ``path`` (its folder created) and free it; returns ``path``."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path
