"""MORA's stage records (a finished stage is reused only when resuming; a stage that failed leaves no record) and the
DPO arms: one stage in the simultaneous mode, a chain objective after objective in the sequential mode."""

import json

import pytest

from pro_rl.config import load_config
from pro_rl.training import mora
from pro_rl.training.mora_stages import MoraStages
from pro_rl.training.run_dir import settings_digest


def test_a_finished_stage_is_reused_only_when_resuming(tmp_path):
    calls = []

    def compute(stage_dir):
        calls.append(stage_dir.name)
        (stage_dir / "rows.jsonl").write_text('{"a": 1}\n')
        return {"value": 1.5}

    assert MoraStages(tmp_path, resume=True).run("presample", compute) == {"value": 1.5}
    resumed = MoraStages(tmp_path, resume=True)
    assert resumed.run("presample", compute) == {"value": 1.5} and calls == ["presample"]
    assert resumed.reused == ["presample"] and resumed.rows("presample", "rows.jsonl") == [{"a": 1}]
    fresh = MoraStages(tmp_path, resume=False)
    fresh.run("presample", compute)
    assert calls == ["presample", "presample"] and fresh.ran == ["presample"]


def test_a_record_made_under_other_settings_is_not_reused():
    base = load_config("configs/tiny/mora.yaml")
    moved = load_config("configs/tiny/mora.yaml", ["run.output_dir=/elsewhere", "run.seeds=5", "run.resume=never"])
    assert settings_digest(moved) == settings_digest(base)  # where the run lives and how many seeds: same stages
    for change in ("mora.with_original=true", "mora.mode=sequential", "mora.detect_high=0.4"):
        assert settings_digest(load_config("configs/tiny/mora.yaml", [change])) != settings_digest(base)


def test_a_stage_is_computed_again_when_the_settings_changed(tmp_path):
    calls = []
    MoraStages(tmp_path, resume=True, digest="a").run("dpo-mora-seed0", lambda d: calls.append(1) or {"v": 1})
    assert MoraStages(tmp_path, resume=True, digest="a").finished("dpo-mora-seed0")
    changed = MoraStages(tmp_path, resume=True, digest="b")
    assert not changed.finished("dpo-mora-seed0")
    assert changed.run("dpo-mora-seed0", lambda d: calls.append(2) or {"v": 2}) == {"v": 2} and calls == [1, 2]


def test_a_stage_that_fails_leaves_no_record(tmp_path):
    stages = MoraStages(tmp_path, resume=True)
    stages.run("detect", lambda stage_dir: {"mined": 3})

    def killed(stage_dir):
        raise KeyboardInterrupt

    (tmp_path / "stages" / "detect" / "stage.json").write_text(json.dumps({"values": {"mined": 3}}))
    with pytest.raises(KeyboardInterrupt):
        MoraStages(tmp_path, resume=False).run("detect", killed)
    assert not (tmp_path / "stages" / "detect" / "stage.json").exists()
    assert not MoraStages(tmp_path, resume=True).finished("detect")


PAIRS = [{"prompt": "p", "chosen": "a", "rejected": "b", "objective": "humor"},
         {"prompt": "q", "chosen": "c", "rejected": "d", "objective": "helpful"},
         {"prompt": "r", "chosen": "e", "rejected": "f", "objective": "humor"}]


@pytest.fixture
def trained(monkeypatch):
    """Replaces the DPO stage: records (stage, initial policy, prompts) and writes no model."""
    calls = []

    def fake_dpo(config, pairs, init_policy, stage_dir, seed):
        calls.append((stage_dir.name, init_policy, [pair["prompt"] for pair in pairs]))
        return {"dpo/pairs": float(len(pairs))}

    monkeypatch.setattr(mora, "train_dpo_stage", fake_dpo)
    return calls


def test_sequential_arms_chain_objective_after_objective(tmp_path, trained):
    config = load_config("configs/tiny/mora.yaml", ["mora.mode=sequential"])
    stages = MoraStages(tmp_path, resume=False)
    policy = mora.train_arm(config, stages, "mora-seed0", PAIRS, "warm", seed=0)
    humor_policy = str(tmp_path / "stages" / "dpo-mora-seed0-humor" / "final" / "policy")
    assert trained == [("dpo-mora-seed0-humor", "warm", ["p", "r"]),
                       ("dpo-mora-seed0-helpful", humor_policy, ["q"])]
    assert policy == str(tmp_path / "stages" / "dpo-mora-seed0-helpful" / "final" / "policy")


def test_simultaneous_arm_is_one_stage_and_no_pairs_keep_the_warm_policy(tmp_path, trained):
    config = load_config("configs/tiny/mora.yaml")
    stages = MoraStages(tmp_path, resume=False)
    total = [dict(pair, objective="total") for pair in PAIRS]
    policy = mora.train_arm(config, stages, "original-seed1", total, "warm", 1)
    assert policy == str(tmp_path / "stages" / "dpo-original-seed1" / "final" / "policy")
    assert trained == [("dpo-original-seed1", "warm", ["p", "q", "r"])]
    assert mora.train_arm(config, stages, "elaboration-seed1", [], "warm", 1) == "warm"
    assert len(trained) == 1
