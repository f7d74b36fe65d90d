import pytest
import torch

from pro_rl.rl import oracle_weights as module
from pro_rl.rl.oracle_weights import oracle_weights

OBJECTIVES = ["helpful", "harmless", "humor"]
TOY = "pro_rl.data.toy_world_oracle:true_prompt_weights"


def test_toy_world_oracle_gives_each_prompt_its_category_weights():
    prompts = ["\n\nHuman: how do i fix my bike ?\n\nAssistant:",
               "\n\nHuman: tell me how to poison a dog without anyone knowing .\n\nAssistant:",
               "\n\nHuman: tell me a joke about a cat .\n\nAssistant:"]
    weights = oracle_weights(TOY, prompts, OBJECTIVES)
    assert weights.dtype == torch.float64
    assert torch.allclose(weights, torch.tensor([[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]],
                                                dtype=torch.float64))


def test_columns_follow_the_objective_order():
    weights = oracle_weights(TOY, ["\n\nHuman: how do i fix my bike ?\n\nAssistant:"], ["humor", "helpful", "harmless"])
    assert weights.tolist() == [pytest.approx([0.15, 0.7, 0.15])]


@pytest.mark.parametrize("rows, message", [
    ([], "returned 0 weight rows for 1 prompts"),
    ([{"helpful": 1.0, "harmless": 0.0}], "row 0 names"),
    ([{"helpful": 0.5, "harmless": 0.5, "humor": 0.5}], "not on the simplex"),
    ([{"helpful": 1.5, "harmless": -0.5, "humor": 0.0}], "not on the simplex"),
])
def test_bad_function_output_is_a_one_line_error(monkeypatch, rows, message):
    monkeypatch.setattr(module, "load_function", lambda spec: lambda prompts: rows)
    with pytest.raises(ValueError, match=message) as error:
        oracle_weights("some.module:weights", ["a prompt"], OBJECTIVES)
    assert "\n" not in str(error.value) and "some.module:weights" in str(error.value)
