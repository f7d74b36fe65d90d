"""Model cards from hand-built run directories: front matter, what the model is, how to load it."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pro_rl.config import load_config
from pro_rl.training.model_card import code_commit, policy_method, write_model_cards

REPO_ROOT = Path(__file__).resolve().parents[3]
TINY = REPO_ROOT / "configs" / "tiny"


def tiny_config(name: str, *overrides: str):
    """``configs/tiny/<name>.yaml`` with models built in code (so that validation needs no earlier runs)."""
    models = [f"reward_models.{i}.model=tiny:gpt2" for i in range(3)]
    return load_config(TINY / f"{name}.yaml", [*models, "policy.model=tiny:gpt2", "orchestrator.path=''",
                                               "weights.mode=uniform", "wic.online_weights=uniform", *overrides])


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def run_dir(tmp_path: Path, *names: str) -> Path:
    """A run directory whose ``final/<name>/`` hold a (stand-in) saved model, plus a file that is no model."""
    for name in names:
        (tmp_path / "final" / name).mkdir(parents=True)
        (tmp_path / "final" / name / "config.json").write_text("{}")
    (tmp_path / "final" / "not_a_model").mkdir()
    (tmp_path / "final" / "trainer_state.json").write_text("{}")
    return tmp_path


def test_reward_model_cards(tmp_path):
    config = load_config(TINY / "reward_models.yaml")
    config = replace(config, reward_models=[replace(config.reward_models[0], model="org/base-rm"),
                                            *config.reward_models[1:]])
    output = run_dir(tmp_path, "helpful", "harmless", "humor")
    metrics = {"eval/helpful/accuracy": 0.91, "eval/harmless/accuracy": 0.83, "train/helpful/loss": 0.2}
    written = write_model_cards(output, config, metrics)
    assert [path.parent.name for path in written] == ["harmless", "helpful", "humor"]
    assert not (output / "final" / "not_a_model" / "README.md").exists()

    card = (output / "final" / "helpful" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["library_name"] == "transformers"
    assert meta["tags"] == ["pro-rl", "reward-model"]
    assert meta["base_model"] == "org/base-rm"
    assert meta["datasets"] == [config.reward_models[0].data]
    assert "reward model for the objective **helpful**" in card
    assert "| eval/helpful/accuracy | 0.91 |" in card
    assert "eval/harmless" not in card and "train/helpful/loss" not in card  # its own held-out metrics only
    assert "AutoModelForSequenceClassification.from_pretrained" in card
    assert "- pipeline: `reward_models`" in card
    assert "base_model" not in front_matter((output / "final" / "humor" / "README.md").read_text())  # tiny:gpt2


def test_orchestrator_card(tmp_path):
    config = tiny_config("orchestrator", "orchestrator.tau=0.25")
    output = run_dir(tmp_path, "orchestrator")
    write_model_cards(output, config, {"eval/w_star/argmax_agreement": 0.95, "eval/kl": 0.125})
    card = (output / "final" / "orchestrator" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["tags"] == ["pro-rl", "preference-orchestrator"] and meta["library_name"] == "transformers"
    assert meta["datasets"] == [config.data.general_pairs]
    assert "objectives helpful, harmless, humor" in card and "τ = 0.25" in card
    assert "| eval/w_star/argmax_agreement | 0.95 |" in card and "| eval/kl | 0.125 |" in card
    assert f'pro-rl weights --orchestrator {output / "final" / "orchestrator"} "' in card


def test_policy_card_of_pro_morlhf(tmp_path):
    config = tiny_config("pro_morlhf", "algorithm.steps=7")
    config = replace(config, policy=replace(config.policy, model="/runs/sft/final/policy"),
                     weights=replace(config.weights, mode="orchestrator"),
                     orchestrator=replace(config.orchestrator, path="/runs/orch/final/orchestrator"))
    output = run_dir(tmp_path, "policy")
    write_model_cards(output, config, {"eval/reward/total/mean": 1.5, "kl/mean": 0.1})
    card = (output / "final" / "policy" / "README.md").read_text()
    meta = front_matter(card)
    assert meta["tags"] == ["pro-rl", "pro-morlhf"] and meta["base_model"] == "/runs/sft/final/policy"
    assert meta["datasets"] == [config.data.prompts]
    assert "trained with **PRO-MORLHF** on the objectives helpful, harmless, humor" in card
    assert "- steps: 7" in card and "- weights mode: orchestrator" in card
    assert "| eval/reward/total/mean | 1.5 |" in card and "kl/mean" not in card
    assert f'pro-rl generate --policy {output / "final" / "policy"} "' in card and "--weights" not in card
    assert "AutoModelForCausalLM.from_pretrained" in card
    commit = code_commit()
    assert (f"commit: `{commit}`" in card) if commit else "commit" not in card


def test_policy_card_of_pro_wic_names_weights(tmp_path):
    config = tiny_config("pro_wic")
    output = run_dir(tmp_path, "policy")
    write_model_cards(output, config, {})
    card = (output / "final" / "policy" / "README.md").read_text()
    assert front_matter(card)["tags"] == ["pro-rl", "pro-wic"]
    assert "--weights 0.33,0.33,0.33" in card and "None recorded" in card


@pytest.mark.parametrize("overrides, method", [
    (["weights.mode=uniform"], "MORLHF"),
    (["weights.mode=fixed", "weights.fixed=[0.0,1.0,0.0]"], "a Rewarded Soups expert for harmless"),
    (["weights.mode=fixed", "weights.fixed=[0.2,0.3,0.5]"], "MORLHF"),
    (["pipeline=sft"], "SFT"),
])
def test_policy_method(overrides, method):
    config = tiny_config("pro_morlhf", *overrides)
    assert policy_method(config)[0] == method


def test_ric_policy_method():
    config = tiny_config("pro_wic", "wic.conditioning=ric")
    assert policy_method(config)[:2] == ("RiC", "ric")


def test_model_card_loads_with_huggingface_hub(tmp_path):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    config = tiny_config("orchestrator")
    output = run_dir(tmp_path, "orchestrator")
    write_model_cards(output, config, {"eval/kl": 0.5})
    card = huggingface_hub.ModelCard.load(output / "final" / "orchestrator" / "README.md")
    assert card.data.library_name == "transformers" and "pro-rl" in card.data.tags
