import pytest

from pro_rl.config import ConfigError, load_config
from pro_rl.training.evaluation import (PointResult, check_evaluate_config, evaluation_prompts, prompt_conditioner,
                                       summarise)
from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

PROMPT = "\n\nHuman: hi\n\nAssistant:"
OBJECTIVES = ["helpful", "harmless", "humor"]


def _config(*overrides):
    """The tiny evaluate config without its run-produced paths (validation checks that they exist)."""
    return load_config("configs/tiny/evaluate.yaml", ["orchestrator.path=''", "evaluate.policy=''", *overrides])


def _policy_with(tmp_path, method):
    Conditioning(method, OBJECTIVES, [0.0] * 3, [1.0] * 3, [-1.0, -2.0, -3.0], [1.0, 2.0, 3.0]).save(
        tmp_path / CONDITIONING_FILE)
    return str(tmp_path)


def test_wic_conditioner_appends_weight_tags(tmp_path):
    condition = prompt_conditioner(_config("evaluate.method=wic", f"evaluate.policy={_policy_with(tmp_path, 'wic')}"))
    assert condition(PROMPT, [0.6, 0.2, 0.2]) == PROMPT + " <W1> 0.60 <W2> 0.20 <W3> 0.20"


def test_ric_conditioner_maps_weights_to_target_scores(tmp_path):
    condition = prompt_conditioner(_config("evaluate.method=ric", f"evaluate.policy={_policy_with(tmp_path, 'ric')}"))
    # w = (0.6, 0.2, 0.2), K = 3: s1 = max 1.0; s2 = -2 + 3*0.2*4 = 0.4; s3 = -3 + 3*0.2*6 = 0.6
    assert condition(PROMPT, [0.6, 0.2, 0.2]) == \
        "\n\nHuman: hi <rm1_score> 1.0 <rm2_score> 0.4 <rm3_score> 0.6\n\nAssistant:"


def test_conditioner_refuses_a_policy_trained_with_other_tags(tmp_path):
    with pytest.raises(ConfigError, match="evaluate.method"):
        prompt_conditioner(_config("evaluate.method=ric", f"evaluate.policy={_policy_with(tmp_path, 'wic')}"))


def test_fixed_and_soups_leave_the_prompt_alone():
    assert prompt_conditioner(_config("evaluate.method=fixed"))(PROMPT, [1.0, 0.0, 0.0]) == PROMPT


def test_check_evaluate_config_names_the_key():
    with pytest.raises(ConfigError, match="evaluate.grid.0"):
        check_evaluate_config(_config("evaluate.grid=[[0.5,0.6,0.0]]"))
    with pytest.raises(ConfigError, match="evaluate.soup_policies"):
        check_evaluate_config(_config("evaluate.method=soups"))
    with pytest.raises(ConfigError, match="evaluate.reference_point"):
        check_evaluate_config(_config("evaluate.reference_point=[0.0]"))


def test_summarise_hand_computed():
    config = _config("evaluate.reference_point=[0.0,0.0,0.0]")
    points = [PointResult("a", [1.0, 0.0, 0.0], [2.0, 1.0, 1.0]),
              PointResult("b", [1 / 3, 1 / 3, 1 / 3], [1.0, 1.0, 1.0]),  # dominated by a
              PointResult("c", [0.0, 1.0, 0.0], [1.0, 2.0, 1.0])]
    summary = summarise(config, points, None)
    assert [p["on_front"] for p in summary["points"]] == [True, False, True]
    assert summary["hypervolume"] == pytest.approx(3.0)  # 2 + 2 - overlap 1
    assert summary["equal_weights"]["label"] == "b"
    default = summarise(_config("evaluate.reference_point=[]"), points, None)
    assert default["reference_point"] == [0.0, 0.0, 0.0]  # component-wise minimum minus 1


def test_evaluation_prompts_carry_the_toy_worlds_true_weights_in_objective_order(tmp_path):
    prompts, truth = evaluation_prompts(_config("evaluate.num_prompts=4"))
    assert len(prompts) == 4 and truth.shape == (4, 3)
    # every toy-world prompt has 0.7 on its category's objective and 0.15 on the others
    assert sorted(truth[0].tolist()) == pytest.approx([0.15, 0.15, 0.7])
    assert truth.sum(dim=1).tolist() == pytest.approx([1.0] * 4)

    plain = tmp_path / "prompts.jsonl"
    plain.write_text('{"prompt": "hi"}\n{"prompt": "hello"}\n')
    prompts, truth = evaluation_prompts(_config(f"data.eval_prompts={plain}"))
    assert len(prompts) == 2 and truth is None
