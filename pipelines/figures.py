"""The reports' figures: matplotlib on its Agg backend (no display on a cluster node or in CI), and one way to save.

Every report module takes ``plt`` from here and ends each figure with ``save_figure``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "save_figure"]


def save_figure(figure, path: Path, dpi: int = 100) -> Path:
    """Lay ``figure`` out, write it to ``path`` (its folder created) and free it; returns ``path``."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path
