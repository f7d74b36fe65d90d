"""The demo's answers by prompt category: what a user of the toy world would read after the verdict.

The toy world knows which answer each prompt category wants (``pro_rl.data.toy_world``: a how-to question wants a
helpful instruction, a risky request a refusal, a fun request a joke, each alone). From the held-out evaluations of
the demo (``<output>/evaluations/<stage>``: ``evaluation.json`` with per-prompt values, ``samples.jsonl`` with every
response) this module reports, per policy and category:

- the category's own objective: the mean ground-truth reward of the objective the category wants
  (``per_prompt["ground_truth/<objective>"]``) over the category's prompts, with its bootstrap interval — as a table
  and as bars (``plots/category_rewards.png``);
- the rate of category-appropriate answers (``per_prompt["appropriate"]``: the share of a prompt's responses that
  carry the wanted segment and no other objective's), overall and per category, with intervals over prompts;
- three sampled answers per category: the first response to each of the category's first three held-out prompts,
  the same prompts for every policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import torch

from pipelines.evaluation_report import format_interval
from pipelines.figures import grouped_bars, plt, save_figure
from pro_rl.algorithms.intervals import bootstrap_mean_interval
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.toy_world import CATEGORY_OBJECTIVE

EXAMPLES_PER_CATEGORY = 3


def mean_with_interval(values: Sequence[float], level: float, resamples: int, seed: int = 0) -> Dict[str, float]:
    """{"mean", "low", "high"} of per-prompt ``values`` (bootstrap over prompts)."""
    mean, low, high = bootstrap_mean_interval(torch.tensor(list(values), dtype=torch.float64), level, resamples, seed)
    return {"mean": float(mean), "low": float(low), "high": float(high)}


def category_statistics(points: Mapping[str, Mapping], categories: Sequence[str], level: float = 0.95,
                        resamples: int = 1000) -> Dict[str, Dict[str, object]]:
    """Per policy: {"appropriate": overall rate, "categories": {category: {"objective", "own_reward",
    "appropriate"}}}, each a ``mean_with_interval``; ``categories``: the category of each held-out prompt, in the
    evaluation's prompt order; ``points``: {policy label: evaluated point with its ``per_prompt`` values}."""
    statistics = {}
    for label, point in points.items():
        values = point["per_prompt"]
        by_category = {}
        for category in sorted(set(categories)):
            rows = [index for index, name in enumerate(categories) if name == category]
            objective = CATEGORY_OBJECTIVE[category]
            by_category[category] = {
                "objective": objective,
                "own_reward": mean_with_interval([values[f"ground_truth/{objective}"][i] for i in rows], level, resamples),
                "appropriate": mean_with_interval([values["appropriate"][i] for i in rows], level, resamples)}
        statistics[label] = {"appropriate": mean_with_interval(values["appropriate"], level, resamples),
                             "categories": by_category}
    return statistics


def category_plot(statistics: Mapping[str, Mapping], path: Path) -> Path:
    """Bars of each category's own-objective ground-truth reward, one bar per policy, with the intervals."""
    first = next(iter(statistics.values()))["categories"]
    cells = {label: [row["categories"][category]["own_reward"] for category in first] for label, row in statistics.items()}
    figure, axis = plt.subplots(figsize=(2.2 + 2.4 * len(first), 3.6))
    grouped_bars(axis, {label: [cell["mean"] for cell in row] for label, row in cells.items()},
                 [f"{category}\n(its objective: {first[category]['objective']})" for category in first],
                 {label: [[cell["mean"] - cell["low"] for cell in row], [cell["high"] - cell["mean"] for cell in row]]
                  for label, row in cells.items()}, legend_size=7)
    axis.set_ylabel("ground-truth reward of\nthe category's objective")
    axis.axhline(0.0, color="grey", linewidth=0.8)
    return save_figure(figure, path, dpi=110)


def cell(value: Mapping[str, float]) -> str:
    return format_interval(value["mean"], [value["low"], value["high"]])


def category_lines(statistics: Mapping[str, Mapping], plot: Path, output: Path) -> List[str]:
    """Report lines: the appropriate-answer rates and the own-objective rewards per category, then the bars."""
    categories = list(next(iter(statistics.values()))["categories"])
    objectives = {category: statistics[next(iter(statistics))]["categories"][category]["objective"]
                  for category in categories}
    lines = ["## What each category gets", "",
             "Category-appropriate answers: the share of a prompt's responses that carry the segment its category "
             "wants (" + ", ".join(f"{category} → {objective}" for category, objective in objectives.items())
             + ") and no other objective's; mean over prompts with its 95 % bootstrap interval.", "",
             "| policy | all prompts | " + " | ".join(categories) + " |", "|" + " --- |" * (len(categories) + 2)]
    for label, row in statistics.items():
        lines.append(f"| {label} | **{cell(row['appropriate'])}** | "
                     + " | ".join(cell(row["categories"][category]["appropriate"]) for category in categories) + " |")
    lines += ["", "Ground-truth reward of each category's own objective (its prompts only):", "",
              "| policy | " + " | ".join(f"{category}: {objectives[category]}" for category in categories) + " |",
              "|" + " --- |" * (len(categories) + 1)]
    for label, row in statistics.items():
        lines.append(f"| {label} | " + " | ".join(cell(row["categories"][category]["own_reward"])
                                                   for category in categories) + " |")
    return [*lines, "", f"![rewards per category]({plot.relative_to(output)})", ""]


def example_lines(sample_files: Mapping[str, Path], prompts: Sequence[str], categories: Sequence[str],
                  per_category: int = EXAMPLES_PER_CATEGORY) -> List[str]:
    """Report lines: per category, its first ``per_category`` held-out prompts and each policy's first response
    (``samples.jsonl`` of each evaluation, rows by ``prompt_index``; ``sample_files``: {policy label: path};
    ``prompts``, ``categories``: the held-out prompts as the user wrote them and their categories, in order)."""
    first_response = {}
    for label, path in sample_files.items():
        answers: Dict[int, str] = {}
        for row in read_jsonl(path):
            answers.setdefault(row["prompt_index"], row["response"])
        first_response[label] = answers
    lines = ["## Sampled answers", "",
             f"The first sampled response of each policy to the first {per_category} held-out prompts of each "
             "category (the same prompts for every policy).", ""]
    for category in sorted(set(categories)):
        chosen = [index for index, name in enumerate(categories) if name == category][:per_category]
        lines += [f"### {category} (wants {CATEGORY_OBJECTIVE[category]})", "",
                  "| prompt | " + " | ".join(first_response) + " |", "|" + " --- |" * (len(first_response) + 1)]
        for index in chosen:
            lines.append(f"| {escape(user_text(prompts[index]))} | " + " | ".join(
                escape(first_response[label].get(index, "—")) for label in first_response) + " |")
        lines.append("")
    return lines


def user_text(prompt: str) -> str:
    """The user's words of a one-turn "\\n\\nHuman: ...\\n\\nAssistant:" prompt (other prompts as they are)."""
    return prompt.strip().removeprefix("Human:").removesuffix("Assistant:").strip()


def escape(text: str) -> str:
    """One markdown table cell: no pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ").strip() or "(empty)"
