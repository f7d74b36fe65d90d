"""Experiment trackers that mirror ``MetricsLogger``'s scalars: tensorboard, wandb, mlflow (``run.report_to``).

Each tracker is a small adapter with ``log(step, scalars)`` and ``close()``; its package is imported only when
``run.report_to`` names it (``validation.py`` has already checked it is installed). Every tracker run gets:

- the run name (``run.name``); for mlflow also the experiment name;
- the resolved config as its parameters, taken from ``to_yaml`` — the text of the run directory's
  ``config.yaml`` — so ``${oc.env:...}`` secrets stay unresolved exactly as they do there;
- the objectives as tags.

wandb: the mode comes from the environment (``WANDB_MODE``: ``offline``, ``disabled``, ...), the run directory is
``run.output_dir`` (files under ``<output_dir>/wandb``), the project is ``WANDB_PROJECT`` or ``pro-rl``.
mlflow: the tracking URI is ``MLFLOW_TRACKING_URI``, else a local file store at ``<output_dir>/mlruns`` (for which
``MLFLOW_ALLOW_FILE_STORE=true`` is set unless already set: mlflow 3 refuses file stores without it).

Metric names: ``tracker_key`` is the one place they are sanitised for every tracker alike (so a metric has the same
name in all of them): any character outside letters, digits and ``_ - . / : space`` (mlflow's allowed set, which
wandb and tensorboard also accept) becomes ``_``. Only finite float scalars reach the trackers; ``metrics.jsonl``
keeps everything (NaN included).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence

import yaml

_REFUSED_CHARACTERS = re.compile(r"[^A-Za-z0-9_\-./: ]")
MLFLOW_BATCH = 100  # mlflow's limit of params (and our chunk of metrics) per log_batch call


def tracker_key(name: str) -> str:
    """A metric name every tracker accepts: characters outside ``[A-Za-z0-9_-./: ]`` become ``_``."""
    return _REFUSED_CHARACTERS.sub("_", name)


class Tracker(Protocol):
    def log(self, step: int, scalars: Dict[str, float]) -> None: ...

    def close(self) -> None: ...


def run_params(config: Any) -> Dict[str, Any]:
    """The resolved config as a nested dict, secrets written as their ``${oc.env:...}`` (``config.yaml``'s text)."""
    from pro_rl.config.loading import to_yaml

    return yaml.safe_load(to_yaml(config))


def flatten(params: Any, prefix: str = "") -> Dict[str, str]:
    """``{"run": {"seed": 0}}`` → ``{"run.seed": "0"}``; list items are indexed (``reward_models.0.name``)."""
    if isinstance(params, dict):
        items = params.items()
    elif isinstance(params, list) and params and all(isinstance(item, dict) for item in params):
        items = ((str(index), item) for index, item in enumerate(params))
    else:
        return {prefix: str(params)}
    flat: Dict[str, str] = {}
    for name, child in items:
        flat.update(flatten(child, f"{prefix}.{name}" if prefix else str(name)))
    return flat


class TensorboardTracker:
    def __init__(self, output_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(output_dir) / "tensorboard"))

    def log(self, step: int, scalars: Dict[str, float]) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, global_step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


STEP_KEY = "step"  # wandb's x axis (see WandbTracker)


class WandbTracker:
    """wandb drops a row whose ``step=`` is below one it has seen, and pipelines that train several models in one
    run (reward_models: one per objective) restart their step count; so every metric is plotted against a logged
    ``step`` metric (``define_metric``) and wandb's own row counter only orders the rows."""

    def __init__(self, output_dir: Path, config: Any):
        import wandb

        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "pro-rl"), name=config.run.name,
                              dir=str(output_dir), config=run_params(config), tags=list(config.objectives),
                              mode=os.environ.get("WANDB_MODE"), reinit="create_new")
        self.run.define_metric(STEP_KEY)
        self.run.define_metric("*", step_metric=STEP_KEY)

    def log(self, step: int, scalars: Dict[str, float]) -> None:
        self.run.log({STEP_KEY: step, **scalars})

    def close(self) -> None:
        self.run.finish()


class MlflowTracker:
    def __init__(self, output_dir: Path, config: Any):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # the local file store; mlflow >= 3.x refuses it unless opted in
            uri = (Path(output_dir).resolve() / "mlruns").as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(config.run.name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(config.run.name)
        self.run_id = self.client.create_run(experiment_id, run_name=config.run.name,
                                             tags={"objectives": ",".join(config.objectives)}).info.run_id
        params = [Param(key, value) for key, value in flatten(run_params(config)).items()]
        for start in range(0, len(params), MLFLOW_BATCH):
            self.client.log_batch(self.run_id, params=params[start:start + MLFLOW_BATCH])

    def log(self, step: int, scalars: Dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value in scalars.items()]
        for start in range(0, len(metrics), MLFLOW_BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[start:start + MLFLOW_BATCH])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def open_trackers(names: Sequence[str], output_dir: Path, config: Optional[Any] = None) -> List[Tracker]:
    """The trackers ``names`` lists (``run.report_to``), opened in that order; ``none`` opens nothing.
    wandb and mlflow need ``config`` (run name, parameters, tags)."""
    trackers: List[Tracker] = []
    for name in names:
        if name == "tensorboard":
            trackers.append(TensorboardTracker(output_dir))
        elif name in ("wandb", "mlflow"):
            if config is None:
                raise ValueError(f"the {name} tracker needs the run's config")
            trackers.append(WandbTracker(output_dir, config) if name == "wandb" else MlflowTracker(output_dir, config))
        elif name != "none":
            raise ValueError(f"unknown tracker {name!r} (run.report_to: tensorboard, wandb, mlflow, none)")
    return trackers
