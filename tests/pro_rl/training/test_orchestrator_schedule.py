"""Held-out model selection of orchestrator training: the weights of the lowest eval/kl come back."""

from pathlib import Path

import pytest
import torch

from pro_rl.training.metrics import read_metrics
from pro_rl.training.orchestrator_schedule import HeldOutSelection


def run_selection(kls, min_delta=0.0):
    """Evaluations with the given held-out KLs; before each one the single weight is set to the evaluation's number."""
    module = torch.nn.Linear(1, 1, bias=False)
    selection = HeldOutSelection(module, min_delta=min_delta)
    evaluation_number = {"value": 0}

    def evaluate():
        return {"eval/kl": kls[evaluation_number["value"] - 1], "eval/w_star/argmax_agreement": module.weight.item()}

    tracked = selection.tracking(evaluate)
    results = []
    for number in range(1, len(kls) + 1):
        evaluation_number["value"] = number
        with torch.no_grad():
            module.weight.fill_(float(number))
        results.append(tracked())
    return module, selection, selection.restore(results[-1], evaluate)


def test_restore_loads_the_weights_of_the_lowest_held_out_kl():
    module, selection, result = run_selection([0.9, 0.4, 0.5, 0.7])
    assert module.weight.item() == 2.0  # the weights as they were at evaluation 2
    assert selection.best_value == 0.4 and selection.evaluations == 4
    assert result["eval/selected_evaluation"] == 2.0
    assert result["eval/w_star/argmax_agreement"] == 2.0  # re-evaluated with the restored weights


def test_the_last_evaluation_kept_when_it_is_the_best():
    module, _, result = run_selection([0.9, 0.5, 0.3])
    assert module.weight.item() == 3.0
    assert result == {"eval/kl": 0.3, "eval/w_star/argmax_agreement": 3.0, "eval/selected_evaluation": 3.0}


def test_min_delta_ignores_small_improvements():
    module, selection, result = run_selection([0.50, 0.48, 0.30, 0.29], min_delta=0.05)
    assert module.weight.item() == 3.0 and selection.best_value == 0.30  # 0.48 and 0.29 are within 0.05
    assert result["eval/selected_evaluation"] == 3.0


def test_evaluations_without_held_out_kl_are_ignored():
    selection = HeldOutSelection(torch.nn.Linear(1, 1))
    assert selection.observe({"eval/w_star/argmax_agreement": 1.0}) is False
    assert selection.observe({"eval/kl": 0.2}) is True and selection.observe({"eval/kl": 0.2}) is False
    assert selection.evaluations == 2 and selection.best_evaluation == 1


def test_orchestrator_run_with_select_best_reports_the_selected_evaluation(tmp_path):
    """The toy world's ground-truth rewards stand in for reward models; 300 pairs, 20 steps, evaluations every 5."""
    import pipelines

    config = Path(__file__).resolve().parents[3] / "configs" / "tiny" / "orchestrator.yaml"
    result = pipelines.run(str(config), [
        f"run.output_dir={tmp_path}", "run.progress=false", "data.max_rows=300",
        *[f"reward_models.{i}.model=pro_rl.data.toy_world:{name}_reward"
          for i, name in enumerate(["helpful", "harmless", "humor"])],
        "orchestrator.training.max_steps=20", "orchestrator.training.batch_size=16",
        "orchestrator.eval_every=5", "orchestrator.select_best=true",
    ])
    evaluations = [line for line in read_metrics(tmp_path / "metrics.jsonl") if "eval/kl" in line]
    assert len(evaluations) >= 4  # steps 5, 10, 15 and the final one (plus the selected one's re-evaluation)
    selected = int(result.metrics["eval/selected_evaluation"])
    assert 1 <= selected <= 4
    best = min(line["eval/kl"] for line in evaluations[:4])
    assert result.metrics["eval/kl"] == pytest.approx(best, rel=1e-4)  # the restored weights give the best KL again


def test_select_best_without_eval_every_is_a_one_line_error():
    from pro_rl.config import load_config
    from pro_rl.config.errors import ConfigError

    with pytest.raises(ConfigError, match="orchestrator.select_best.*eval_every") as error:
        load_config({"orchestrator": {"select_best": True}})
    assert "\n" not in str(error.value)
