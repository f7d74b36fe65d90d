"""bench/router_ablation.py's pure parts: the routers' run overrides, combining seeds, the table."""

import pytest

from bench.router_ablation import ORACLE, combine, report, router_names, router_overrides


def test_main_comparison_runs_first_and_the_tau_sweep_last():
    assert router_names([0.05, 0.1, 1.0]) == ["pro_kl tau=0.1", "gate", "bag_of_words", "oracle", "uniform",
                                              "pro_kl tau=0.05", "pro_kl tau=1.0"]


def test_router_overrides_without_training():
    assert router_overrides("oracle", None, None, []) == ["weights.mode=oracle", f"weights.function={ORACLE}",
                                                          "orchestrator.path=''"]
    assert router_overrides("uniform", None, None, []) == ["weights.mode=uniform", "orchestrator.path=''"]


def test_combine_averages_prompts_over_seeds_and_keeps_each_seeds_mean():
    runs = [{"values": [0.0, 1.0], "agreement": 1.0, "on_target": 0.5, "segments": 1.0},
            {"values": [1.0, 1.0], "agreement": 1.0, "on_target": 0.7, "segments": 2.0}]
    row = combine(runs)
    assert row["values"] == [0.5, 1.0] and row["seed_means"] == [0.5, 1.0]
    assert row["on_target"] == pytest.approx(0.6) and row["segments"] == 1.5 and row["agreement"] == 1.0


def test_report_gives_paired_differences_to_pro_at_tau_one_tenth():
    pro = {"values": [0.2] * 10, "seed_means": [0.2], "agreement": 1.0, "on_target": 0.5, "segments": 1.0}
    uniform = {"values": [0.1] * 10, "seed_means": [0.1], "agreement": None, "on_target": 0.25, "segments": 1.5}
    table = report({"pro_kl tau=0.1": pro, "uniform": uniform}, "header")
    lines = table.splitlines()
    assert lines[0] == "header"
    assert lines[4] == "| pro_kl tau=0.1 | 0.200 [0.200, 0.200] | — | 0.200 | 1.000 | 0.500 | 1.00 |"
    assert lines[5] == "| uniform | 0.100 [0.100, 0.100] | -0.100 [-0.100, -0.100] | 0.100 | — | 0.250 | 1.50 |"


def test_settings_digest_follows_the_files_their_bases_and_the_overrides(tmp_path):
    from bench.router_ablation import config_files, settings_digest

    (tmp_path / "base.yaml").write_text("algorithm:\n  steps: 5\n")
    (tmp_path / "run.yaml").write_text("base: base.yaml\npipeline: pro_morlhf\n")
    run = str(tmp_path / "run.yaml")
    assert config_files(run) == [tmp_path / "base.yaml", tmp_path / "run.yaml"]
    digest = settings_digest(run, ["run.seed=1"])
    assert digest == settings_digest(run, ["run.seed=1"]) and len(digest) == 64
    assert settings_digest(run, ["run.seed=2"]) != digest and settings_digest(run, []) != digest
    (tmp_path / "base.yaml").write_text("algorithm:\n  steps: 6\n")  # a setting of the base file
    assert settings_digest(run, ["run.seed=1"]) != digest


def test_finished_stages_skip_only_a_stage_run_with_the_same_settings(tmp_path, monkeypatch):
    import json

    from bench.router_ablation import FinishedStages, Stages

    runs = []

    def fake_run(self, name, config, overrides):  # ``Stages.run`` without a pipeline: record and write the entry
        runs.append(list(overrides))
        output_dir = tmp_path / name
        output_dir.mkdir(exist_ok=True)
        (output_dir / "summary.json").write_text("{}")
        self.done[name] = {"output_dir": str(output_dir), "config": "resolved"}
        return output_dir

    monkeypatch.setattr(Stages, "run", fake_run)
    (tmp_path / "stage.yaml").write_text("pipeline: pro_morlhf\n")
    config = str(tmp_path / "stage.yaml")
    stages = FinishedStages(tmp_path, resume=True)
    assert stages.run("rl", config, ["algorithm.steps=5"]) == tmp_path / "rl"
    resumed = FinishedStages(tmp_path, resume=True)  # reads stages.json back
    assert json.loads((tmp_path / "stages.json").read_text())["rl"]["settings"] == resumed.done["rl"]["settings"]
    resumed.run("rl", config, ["algorithm.steps=5"])
    assert runs == [["algorithm.steps=5"]]  # same settings: skipped
    resumed.run("rl", config, ["algorithm.steps=6"])
    (tmp_path / "stage.yaml").write_text("pipeline: pro_morlhf\nrun:\n  seed: 3\n")
    resumed.run("rl", config, ["algorithm.steps=6"])
    assert runs == [["algorithm.steps=5"], ["algorithm.steps=6"], ["algorithm.steps=6"]]  # changed: rerun


def test_policy_values_are_the_ground_truth_scalarised_per_prompt_means(monkeypatch):
    from types import SimpleNamespace

    import torch

    import bench.router_ablation as ablation

    helpful_harmless = " take the kettle apart slowly and clean every piece before you begin . that could be " \
                       "dangerous , so i will not give those details ."  # rewards helpful 0.7, harmless 0.7, humor -0.6
    humor = " haha , the cat walked into a bar and ordered a pun !"  # humor 1.0, the others -0.3
    truth = torch.tensor([[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])
    monkeypatch.setattr(ablation, "evaluation_prompts", lambda config: (["p0", "p1"], truth))
    responses = [helpful_harmless, humor, humor, humor]
    engine = SimpleNamespace(generate=lambda prompts, samples, seed: SimpleNamespace(responses=responses))
    monkeypatch.setattr(ablation, "policy_engine", lambda config, policy: engine)
    values = ablation.policy_values(SimpleNamespace(run=SimpleNamespace(seed=0)), "policy", samples=2)
    # prompt 0: (0.5·0.7 + 0.25·0.7 − 0.25·0.6 + (−0.5·0.3 − 0.25·0.3 + 0.25·1.0)) / 2 = (0.375 + 0.025) / 2
    assert values["values"] == pytest.approx([0.2, 1.0])
    assert values["segments"] == pytest.approx(5 / 4) and values["on_target"] == pytest.approx(3 / 4)
