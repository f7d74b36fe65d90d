"""The run directory (DESIGN.md "Run directory"): checked, then created, logged to, and continued or started afresh.

A pipeline first calls ``check_run_dir`` (reads only), then loads and checks every input, and only then
``prepare_run_dir``, so a run that fails on a bad input leaves the directory as it was. A directory "holds a run"
when any of ``config.yaml``, ``metrics.jsonl``, ``checkpoints/`` or ``final/`` is there. Into such a directory:

- ``run.resume: never`` (a fresh start) refuses, unless ``run.overwrite: true``, which then removes what the earlier
  run left (metrics, checkpoints, tensorboard, final models, report and plots) so the directory describes one run;
- ``run.resume: auto`` continues only the same run: the saved ``config.yaml`` must resolve to the same config
  (``run.resume``, ``run.overwrite``, ``run.progress`` and ``run.output_dir`` aside); a different one refuses naming
  a differing key, unless ``run.overwrite: true`` (then it continues with the new config and a warning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Dict, List

from pro_rl.config.loading import ConfigError, load_config, save_config
from pro_rl.config.schema import ProRLConfig
from pro_rl.training.metrics import METRICS_LOGGER

logger = logging.getLogger("pro_rl.training")

RUN_MARKERS = ("config.yaml", "metrics.jsonl", "checkpoints", "final")
CLEARED_ON_OVERWRITE = ("metrics.jsonl", "checkpoints", "tensorboard", "final", "report.md", "plots", "summary.json",
                        "mlruns", "wandb")
NOT_COMPARED = ("run.resume", "run.overwrite", "run.progress", "run.output_dir", "run.report_to")


def holds_run(output_dir: Path) -> bool:
    return any((output_dir / name).exists() for name in RUN_MARKERS)


def flat(value, prefix: str = "") -> Dict[str, object]:
    """A config (dataclasses, lists, scalars) as ``{dotted key: value}``."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {prefix: value}
    result: Dict[str, object] = {}
    for key, item in items:
        result.update(flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return result


def config_differences(saved: ProRLConfig, config: ProRLConfig) -> List[str]:
    """``key 'k' was A, now B`` for each dotted key whose value differs, ``NOT_COMPARED`` aside."""
    before, after = flat(saved), flat(config)
    keys = [key for key in sorted(set(before) | set(after)) if not key.startswith(NOT_COMPARED)]
    return [f"key '{key}' was {before.get(key)!r}, now {after.get(key)!r}" for key in keys
            if before.get(key) != after.get(key)]


def differences_from_saved(output_dir: Path, config: ProRLConfig) -> List[str]:
    """How ``config`` differs from the run saved in ``output_dir`` (one reason when there is nothing to compare)."""
    saved_path = output_dir / "config.yaml"
    if not saved_path.is_file():
        return ["it has no config.yaml to compare with"]
    try:
        saved = load_config(saved_path)
    except ConfigError as error:
        return [f"its config.yaml cannot be read ({error})"]
    return config_differences(saved, config)


def check_run_dir(config: ProRLConfig) -> None:
    """Refuse, with one line naming the directory, a start that would mix with or destroy another run. Reads only."""
    output_dir = Path(config.run.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"key 'run.output_dir': {output_dir} is a file, not a directory")
    if not holds_run(output_dir) or config.run.overwrite:
        return
    if config.run.resume != "auto":
        raise ConfigError(f"key 'run.output_dir': {output_dir} already holds a run; pass run.overwrite=true to "
                          "replace it, run.resume=auto to continue it, or choose another run.output_dir")
    differences = differences_from_saved(output_dir, config)
    if differences:
        raise ConfigError(f"key 'run.output_dir': {output_dir} holds a different run, so run.resume=auto cannot "
                          f"continue it: {differences[0]}"
                          f"{f' (and {len(differences) - 1} more)' if len(differences) > 1 else ''}; "
                          "pass run.overwrite=true to continue anyway or choose another run.output_dir")


def clear_earlier_run(output_dir: Path) -> None:
    for name in CLEARED_ON_OVERWRITE:
        path = output_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def prepare_run_dir(config: ProRLConfig) -> Path:
    """Check (``check_run_dir``), then create ``run.output_dir``, clear an overwritten run, write the resolved
    ``config.yaml`` and a ``run.log`` handler (every log line and every logged step's metrics). Call it after the
    run's inputs are loaded."""
    check_run_dir(config)
    output_dir = Path(config.run.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if config.run.overwrite and config.run.resume == "auto" and holds_run(output_dir):
        differences = differences_from_saved(output_dir, config)
        if differences:
            logger.warning("%s: continuing with a different config (run.overwrite=true): %s", output_dir,
                           "; ".join(differences[:5]))
    elif config.run.overwrite and config.run.resume != "auto":
        clear_earlier_run(output_dir)
    save_config(config, output_dir / "config.yaml")
    configure_logging(output_dir / "run.log")
    return output_dir


class WithoutMetricLines(logging.Filter):
    """Keeps the per-step metric lines (logger ``pro_rl.metrics``) off the console: they go to ``run.log`` only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(METRICS_LOGGER)


def configure_logging(log_file: Path) -> None:
    """INFO to stderr and to the run's log file (once per file); the per-step metric lines to the file only."""
    root = logging.getLogger("pro_rl")
    root.setLevel(logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    consoles = [h for h in root.handlers
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    if not consoles:
        console = logging.StreamHandler()
        console.setFormatter(formatter)
        root.addHandler(console)
        consoles = [console]
    for console in consoles:
        if not any(isinstance(f, WithoutMetricLines) for f in console.filters):
            console.addFilter(WithoutMetricLines())
    if not any(isinstance(h, logging.FileHandler) and h.baseFilename == str(log_file.resolve()) for h in root.handlers):
        for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            root.removeHandler(handler)
            handler.close()
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)


def settings_digest(config) -> str:
    """A digest of the settings a stage of a run ran with: ``config`` without ``run.output_dir``, ``run.name``,
    ``run.resume``, ``run.overwrite``, ``run.progress`` and ``run.seeds`` (each seed's stages have names of their own).
    MORA's and PRO-WIC's stage records hold it; a resumed run reuses a stage only under the same digest."""
    run = dataclasses.replace(config.run, output_dir="", name="", resume="", overwrite=False, progress=False, seeds=1)
    text = json.dumps(dataclasses.asdict(dataclasses.replace(config, run=run)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
