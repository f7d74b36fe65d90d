import json
import math
from types import SimpleNamespace

import pytest
import torch

from pro_rl.config import ConfigError, load_config
from pro_rl.config.schema import DataConfig
from pro_rl.training.wic import (Conditioning, check_wic_config, conditioned_rows, label_entropy, label_offline_rows,
                                 offline_rows, row_labels, score_matrix)

PROMPT = "\n\nHuman: hi\n\nAssistant:"


def _conditioning(method: str) -> Conditioning:
    return Conditioning(method, ["a", "b"], mean=[1.0, 0.0], std=[2.0, 1.0], z_min=[-1.0, -2.0], z_max=[1.0, 2.0])


def test_conditioning_normalises_with_saved_stats_and_round_trips(tmp_path):
    conditioning = _conditioning("wic")
    assert conditioning.normalise(torch.tensor([[3.0, -1.0]])).tolist() == [[1.0, -1.0]]
    conditioning.save(tmp_path / "c.json")
    assert Conditioning.load(tmp_path / "c.json") == conditioning
    with pytest.raises(FileNotFoundError):
        Conditioning.load(tmp_path / "missing.json")


def test_wic_rows_carry_softmax_weights_of_their_own_rewards():
    z = torch.tensor([[0.0, 0.1 * math.log(3.0)]])  # tau 0.1 -> softmax([0, log 3]) = (0.25, 0.75)
    labels = row_labels(_conditioning("wic"), z, tau=0.1)
    rows = conditioned_rows(_conditioning("wic"), [PROMPT], [" ok"], labels)
    assert rows == [{"prompt": PROMPT + " <W1> 0.25 <W2> 0.75", "response": " ok"}]


def test_ric_rows_carry_their_z_scores():
    labels = row_labels(_conditioning("ric"), torch.tensor([[-0.31, 1.24]]), tau=0.1)
    rows = conditioned_rows(_conditioning("ric"), [PROMPT], [" ok"], labels)
    assert rows[0]["prompt"] == "\n\nHuman: hi <rm1_score> -0.3 <rm2_score> 1.2\n\nAssistant:"


class _Scorer:
    def __init__(self, name, values):
        self.name, self.values = name, values

    def score(self, prompts, responses):
        return self.values


def test_score_matrix_stacks_objectives_and_names_a_nan_objective():
    matrix = score_matrix([_Scorer("a", [1.0, 2.0]), _Scorer("b", [3.0, 4.0])], ["p", "q"], ["x", "y"])
    assert matrix.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    with pytest.raises(ValueError, match="'b': 1 of 2"):
        score_matrix([_Scorer("a", [1.0, 2.0]), _Scorer("b", [math.nan, 4.0])], ["p", "q"], ["x", "y"])


def test_check_wic_config_names_the_key():
    config = load_config("configs/tiny/ric.yaml")
    check_wic_config(config)
    config.wic.conditioning = "weights"
    with pytest.raises(ConfigError, match="wic.conditioning"):
        check_wic_config(config)
    config = load_config("configs/tiny/pro_wic.yaml", ["orchestrator.path=''"])
    with pytest.raises(ConfigError, match="orchestrator.path"):
        check_wic_config(config)


def test_offline_rows_take_responses_or_both_sides_of_a_pair(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"prompt": "hi", "response": " a"}\n'
                    '{"prompt": [{"role": "user", "content": "yo"}], "chosen": " b", "rejected": " c"}\n')
    prompts, responses = offline_rows(str(path), DataConfig())
    assert responses == [" a", " b", " c"]
    assert prompts[1] == prompts[2] == "\n\nHuman: yo\n\nAssistant:"
    path.write_text('{"prompt": "hi"}\n')
    with pytest.raises(Exception, match="row"):
        offline_rows(str(path), DataConfig())


def test_label_entropy_is_the_mean_entropy_of_weight_tags_only():
    labels = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)  # entropies log 2 and 0
    assert label_entropy("wic", labels) == {"wic/label_entropy": pytest.approx(math.log(2.0) / 2, abs=1e-12)}
    assert label_entropy("ric", torch.tensor([[-0.3, 1.2]])) == {}  # score tags are not weights


def test_offline_rows_are_z_scored_over_the_rows_and_tagged_with_their_own_labels(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"prompt": PROMPT, "response": r}) + "\n" for r in (" a", " b")))
    config = load_config("configs/tiny/ric.yaml", [f"wic.offline_data={path}"])
    config.reward_models = config.reward_models[:2]
    # objective 0: scores 1, 3 -> mean 2, population std 1 -> z = -1, 1; objective 1: constant 5 -> std 1, z = 0, 0
    scorers = [_Scorer("a", [1.0, 3.0]), _Scorer("b", [5.0, 5.0])]
    generator = SimpleNamespace(score=lambda prompts, responses: score_matrix(scorers, prompts, responses))
    offline = label_offline_rows(config, generator)
    assert offline.rewards.tolist() == [[1.0, 5.0], [3.0, 5.0]]
    assert (offline.conditioning.mean, offline.conditioning.std) == ([2.0, 5.0], [1.0, 1.0])
    assert (offline.conditioning.z_min, offline.conditioning.z_max) == ([-1.0, 0.0], [1.0, 0.0])
    assert offline.labels.tolist() == [[-1.0, 0.0], [1.0, 0.0]]  # ric: the z-scores themselves
    assert offline.rows[1] == {"prompt": "\n\nHuman: hi <rm1_score> 1.0 <rm2_score> 0.0\n\nAssistant:",
                               "response": " b"}


def test_check_wic_config_names_the_soft_label_keys():
    config = load_config("configs/tiny/pro_wic.yaml", ["orchestrator.path=''", "wic.online_weights=uniform"])
    config.wic.tau_mode = "matched"
    with pytest.raises(ConfigError, match="orchestrator.path"):
        check_wic_config(config)
    config.orchestrator.path = "runs/some/orchestrator"
    config.wic.random_fraction = 0.5
    check_wic_config(config)
    config.wic.tau_mode = "softest"
    with pytest.raises(ConfigError, match="wic.tau_mode"):
        check_wic_config(config)
    with pytest.raises(ConfigError, match="random_fraction"):
        check_wic_config(load_config("configs/tiny/ric.yaml", ["wic.random_fraction=0.5"]))


def test_offline_labels_with_matched_tau_are_as_soft_as_the_orchestrator(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"prompt": PROMPT, "response": r}) + "\n" for r in (" a", " b")))
    config = load_config("configs/tiny/pro_wic.yaml", [f"wic.offline_data={path}", "orchestrator.path=''"])
    config.reward_models, config.wic.tau_mode = config.reward_models[:2], "matched"
    # z = (-1, 0) and (1, 0); weights (0.25, 0.75) / (0.75, 0.25) at τ = 1 / ln 3 have the orchestrator's entropy
    scorers = [_Scorer("a", [1.0, 3.0]), _Scorer("b", [5.0, 5.0])]
    generator = SimpleNamespace(score=lambda prompts, responses: score_matrix(scorers, prompts, responses))
    orchestrator = SimpleNamespace(predict=lambda prompts: torch.tensor([[0.25, 0.75]] * len(prompts)))
    offline = label_offline_rows(config, generator, orchestrator=orchestrator)
    assert offline.taus == [pytest.approx(1 / math.log(3), rel=1e-5)]
    assert offline.conditioning.world == "toy_world v1"  # pro_wic.yaml's rewards: version 1's functions
    assert offline.labels.tolist() == [pytest.approx([0.25, 0.75], abs=1e-5), pytest.approx([0.75, 0.25], abs=1e-5)]
    config.wic.tau_mode = "both"  # each row twice: τ = 0.1 first, then the matched τ
    both = label_offline_rows(config, generator, orchestrator=orchestrator)
    assert len(both.rows) == 4 and both.rewards.tolist() == [[1.0, 5.0], [3.0, 5.0]] * 2
    assert both.labels[2:].tolist() == offline.labels.tolist() and both.labels[0, 1] > 0.99  # softmax((-1, 0)/0.1)
    config.wic.tau_mode = "fixed"
    assert label_offline_rows(config, generator).taus == [0.1]


def test_a_finished_stage_is_reused_only_under_the_same_settings(tmp_path):
    from pro_rl.training.wic_stages import STAGE_RECORD, finished_stage, record_stage

    resuming = load_config("configs/tiny/ric.yaml", ["run.resume=auto", f"run.output_dir={tmp_path}"])
    stage_dir = tmp_path / "stages" / "offline"
    stage_dir.mkdir(parents=True)
    record_stage(resuming, stage_dir, {"wic/rows": 12.0})
    assert finished_stage(resuming, stage_dir)["values"] == {"wic/rows": 12.0}
    moved = load_config("configs/tiny/ric.yaml", ["run.resume=auto", f"run.output_dir={tmp_path / 'elsewhere'}"])
    assert finished_stage(moved, stage_dir) is not None  # where the run lives is not a setting
    changed = load_config("configs/tiny/ric.yaml", ["run.resume=auto", "wic.tau=0.5"])
    assert finished_stage(changed, stage_dir) is None
    assert finished_stage(load_config("configs/tiny/ric.yaml", [f"run.output_dir={tmp_path}"]), stage_dir) is None
    (stage_dir / STAGE_RECORD).write_text(json.dumps({"values": {"wic/rows": 12.0}}))  # recorded before digests
    assert finished_stage(resuming, stage_dir) is None
