"""Evaluate a test-time multi-objective policy over a weight grid: Pareto front, hypervolume, equal-weight table.

Reads top to bottom: check the config and the run directory, generate and score at every weight point
(``pro_rl.training.evaluation``) on the run's rollout engines and reward actors (``pipelines.generation``), then — only now touching the run directory — plot the front and write
``report.md`` and ``evaluation.json``.
"""

from __future__ import annotations

from pathlib import Path

from pipelines import RunResult
from pipelines.evaluation_report import plot_front, write_report
from pipelines.generation import make_generator
from pro_rl.config import ProRLConfig
from pro_rl.data.canonical import write_jsonl
from pro_rl.data.toy_world_graded import world_version
from pro_rl.training.evaluation import check_evaluate_config, evaluate_weight_grid
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.run_dir import check_run_dir, prepare_run_dir


def run(config: ProRLConfig) -> RunResult:
    check_evaluate_config(config)
    check_run_dir(config)
    summary = evaluate_weight_grid(config, make_generator)
    if world_version(config.reward_models):  # the toy world's version, so that numbers of versions are not mixed
        summary["world"] = world_version(config.reward_models)
    return write_outputs(summary, prepare_run_dir(config), config)


def write_outputs(summary: dict, output_dir: Path, config=None) -> RunResult:
    """The front plot, ``report.md``, ``evaluation.json``, ``samples.jsonl`` (every response: its point, prompt and
    reward-model scores; taken out of ``summary``) and the final metrics line of an evaluation summary, logged to the
    trackers of ``config.run.report_to`` (none without a config)."""
    write_jsonl(summary.pop("samples", []), output_dir / "samples.jsonl")
    plot_path = plot_front(summary, output_dir / "plots" / "pareto_front.png")
    write_report(summary, output_dir, plot_path)
    final = {"eval/hypervolume": summary["hypervolume"], "eval/front_size": sum(p["on_front"] for p in summary["points"])}
    if summary["equal_weights"]:
        final.update({f"eval/equal_weights/{name}": value
                      for name, value in zip(summary["objectives"], summary["equal_weights"]["rewards"])})
    if summary.get("untagged"):  # MOSLIM's default point
        final.update({f"eval/untagged/{name}": value
                      for name, value in zip(summary["objectives"], summary["untagged"]["rewards"])})
    for key in ("equal_weights", "orchestrator", "untagged"):
        final.update(scalarised_metrics(f"eval/{key}", summary.get(key)))
    if summary.get("sga"):  # SGA: its default (sensed) point, the strategies' win rates, the head's accuracy
        final.update(sga_metrics(summary))
    metrics = MetricsLogger(output_dir, tensorboard=False, config=config)
    metrics.log(0, final)
    metrics.close()
    return RunResult(output_dir=output_dir, metrics=final)


def scalarised_metrics(prefix: str, point) -> dict:
    """``<prefix>/{true_scalarised,ground_truth_scalarised}`` of one point with ``…_low`` / ``…_high``, its
    bootstrap interval over prompts, where known."""
    values = {}
    for key in ("true_scalarised", "ground_truth_scalarised"):
        if point and point.get(key) is not None:
            values[f"{prefix}/{key}"] = point[key]
            if point.get(f"{key}_interval"):
                values[f"{prefix}/{key}_low"], values[f"{prefix}/{key}_high"] = point[f"{key}_interval"]
    return values


def sga_metrics(summary: dict) -> dict:
    """``eval/adaptive/<objective>``, ``eval/sga/<strategy>/{true_scalarised,win_rate}`` and
    ``eval/sga/head/{mse,argmax_agreement}`` where known."""
    values = {f"eval/adaptive/{name}": value for name, value in zip(summary["objectives"], summary["adaptive"]["rewards"])}
    for row in summary["sga"]["strategies"]:
        values.update({f"eval/sga/{row['label']}/{key}": row[key] for key in ("true_scalarised", "win_rate")
                       if row[key] is not None})
    head = summary["sga"]["head"]
    values.update({f"eval/sga/head/{key}": head[key] for key in ("mse", "argmax_agreement") if head[key] is not None})
    return values

