"""Train MOSLIM's multi-head classification reward model into ``<run>/final/reward_model/`` and report its
held-out accuracy per head and per intensity class: ``report.md`` (the analogue of MOSLIM Table 1) and
``plots/intensity_accuracy.png`` (accuracy per intensity level per head, the analogue of Fig. 4).

The label rows are read and checked before the run directory is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping

from pipelines import RunResult, train_in_run_dir
from pipelines.figures import plt, save_figure
from pro_rl.config import ProRLConfig
from pro_rl.training.moslim_reward_model import (FINAL_NAME, load_moslim_rows, moslim_levels,
                                                 train_moslim_reward_model)

PLOT_NAME = "intensity_accuracy.png"


def plot_intensity_accuracy(metrics: Mapping[str, float], heads: Mapping[str, int], output: Path) -> Path:
    """One panel per head: held-out accuracy of each intensity class, with the head's chance level 1/n_k dashed."""
    figure, axes = plt.subplots(1, len(heads), figsize=(3.6 * len(heads), 3.2), squeeze=False)
    for axis, (objective, levels) in zip(axes[0], heads.items()):
        classes = [level for level in range(1, levels + 1) if f"accuracy/{objective}/{level}" in metrics]
        axis.bar([str(level) for level in classes], [metrics[f"accuracy/{objective}/{level}"] for level in classes])
        axis.axhline(1.0 / levels, linestyle="--", color="gray", label="chance")
        axis.set_ylim(0, 1)
        axis.set_title(f"{objective} (head accuracy {metrics.get(f'accuracy/{objective}', float('nan')):.2f})")
        axis.set_xlabel("intensity class")
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][0].legend()
    save_figure(figure, output, dpi=100)
    return output


def accuracy_table(metrics: Mapping[str, float], heads: Mapping[str, int]) -> str:
    """Markdown table: per head its accuracy, chance level, and each intensity class's accuracy (held-out rows)."""
    widest = max(heads.values())
    header = "| head | classes | accuracy | chance | " + " | ".join(f"class {n}" for n in range(1, widest + 1)) + " |"
    lines = [header, "|" + " --- |" * (4 + widest)]
    for objective, levels in heads.items():
        cells = []
        for level in range(1, widest + 1):
            key = f"accuracy/{objective}/{level}"
            count = int(metrics.get(f"eval/labelled/{objective}/{level}", 0))
            cells.append(f"{metrics[key]:.3f} ({count})" if key in metrics else "–")
        accuracy = metrics.get(f"accuracy/{objective}")
        shown = "–" if accuracy is None else f"{accuracy:.3f}"
        lines.append(f"| {objective} | {levels} | {shown} | {1 / levels:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(output_dir: Path, config: ProRLConfig, metrics: Dict[str, float], heads: Mapping[str, int]) -> Path:
    plot = plot_intensity_accuracy(metrics, heads, output_dir / "plots" / PLOT_NAME)
    source = (f"{config.moslim.data} (DataType {config.moslim.data_type} where scores are mapped)" if config.moslim.data
              else f"toy world, {config.moslim.toy_rows} generated rows (intensity = segment count)")
    text = "\n".join([
        "# MOSLIM multi-head reward model", "",
        f"Data: {source}; backbone `{config.moslim.model}`; "
        f"held-out fraction {config.moslim.training.eval_fraction}.", "",
        "Held-out accuracy per head and per intensity class (rows of that class in brackets); chance = 1/n_k "
        "(the analogue of MOSLIM Table 1):", "",
        accuracy_table(metrics, heads), "",
        f"Mean head accuracy: {metrics.get('accuracy/mean', float('nan')):.3f}; held-out loss: "
        f"{metrics.get('eval/loss', float('nan')):.3f}.", "",
        f"![accuracy per intensity class]({plot.relative_to(output_dir)})", "",
        f"Model: `final/{FINAL_NAME}/` (head layout in its config.json, `moslim_heads`).", "",
    ])
    path = output_dir / "report.md"
    path.write_text(text)
    return path


def run(config: ProRLConfig) -> RunResult:
    heads = moslim_levels(config)

    def train(rows, output_dir, metrics):
        result = train_moslim_reward_model(config, output_dir, metrics, rows)
        write_report(output_dir, config, result, heads)
        return result

    return train_in_run_dir(config, lambda: load_moslim_rows(config), train)
