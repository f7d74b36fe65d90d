"""The run directory (DESIGN.md "Run directory"): created, logged to, and either continued or started afresh.

``run.resume: never`` clears what an earlier run left (metrics, checkpoints, tensorboard) so the directory
describes one run; ``auto`` keeps it for the loop to continue from the last complete checkpoint.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pro_rl.config.loading import save_config
from pro_rl.config.schema import ProRLConfig

CLEARED_ON_FRESH_START = ("metrics.jsonl", "checkpoints", "tensorboard")


def prepare_run_dir(config: ProRLConfig) -> Path:
    """Create ``run.output_dir``, write the resolved ``config.yaml`` and a ``run.log`` handler."""
    output_dir = Path(config.run.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if config.run.resume == "never":
        for name in CLEARED_ON_FRESH_START:
            path = output_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    save_config(config, output_dir / "config.yaml")
    configure_logging(output_dir / "run.log")
    return output_dir


def configure_logging(log_file: Path) -> None:
    """INFO to stderr and to the run's log file (once per file)."""
    root = logging.getLogger("pro_rl")
    root.setLevel(logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in root.handlers):
        console = logging.StreamHandler()
        console.setFormatter(formatter)
        root.addHandler(console)
    if not any(isinstance(h, logging.FileHandler) and h.baseFilename == str(log_file.resolve()) for h in root.handlers):
        for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            root.removeHandler(handler)
            handler.close()
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
