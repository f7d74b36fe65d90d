"""TrainEngine: DeepSpeed on CPU (gloo) with a tiny gpt2 reward model — learning, accumulation, state, export."""

import copy

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from pro_rl.algorithms import bradley_terry_loss
from pro_rl.config.schema import ModelConfig, TrainerConfig, TrainingConfig
from pro_rl.models.builders import build_reward_model
from pro_rl.training.engine import (
    EngineSettings,
    TrainEngine,
    deepspeed_config,
    parameters_changed,
    settings_from,
)
from pro_rl.training.safe_load import UnsafeCheckpointError

_torch_load = torch.load  # the loader as torch ships it: loading a checkpoint must not replace it

CPU = torch.device("cpu")
SPEC = ModelConfig(model="tiny:gpt2", tiny_hidden_size=32, tiny_layers=1, tiny_heads=2)
CHOSEN = [" first check the bike , then follow each step in order .</s>",
          " why did the cat cross the road ? to get a laugh !</s>"]
REJECTED = [" ok .</s>", " well , maybe .</s>"]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return build_reward_model(SPEC)


def fresh_engine(model_and_tokenizer, **settings) -> TrainEngine:
    _, tokenizer = model_and_tokenizer
    model, _ = build_reward_model(SPEC)  # seeded: the same initial weights every time
    return TrainEngine(model, EngineSettings(**{"learning_rate": 1e-3, "batch_size": 2, **settings}), CPU)


def pair_loss(engine: TrainEngine, tokenizer, rows: list) -> torch.Tensor:
    texts = [CHOSEN[i] for i in rows] + [REJECTED[i] for i in rows]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    scores = engine(**batch).logits[:, 0]
    return bradley_terry_loss(scores[: len(rows)], scores[len(rows):])


def id_loss(engine: TrainEngine, input_ids: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry loss of rows (0 vs 1), (2 vs 3), ... of equal-length inputs: no padding involved."""
    scores = engine(input_ids=input_ids).logits[:, 0]
    return bradley_terry_loss(scores[0::2], scores[1::2])


FIXED_IDS = torch.randint(5, 600, (4, 12), generator=torch.Generator().manual_seed(0))


def snapshot(module: torch.nn.Module) -> dict:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def test_loss_decreases_on_a_fixed_batch(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    engine = fresh_engine(model_and_tokenizer)
    engine.train()
    losses = []
    for _ in range(8):
        loss = pair_loss(engine, tokenizer, [0, 1])
        engine.backward(loss)
        engine.step()
        losses.append(loss.item())
    assert engine.global_steps == 8
    assert losses[-1] < 0.5 * losses[0]
    assert engine.learning_rate() == pytest.approx(1e-3)


def test_gradient_accumulation_steps_once_per_two_backward_calls(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    engine = fresh_engine(model_and_tokenizer, batch_size=4, micro_batch_size=2)
    assert engine.gradient_accumulation_steps == 2
    engine.train()
    before = snapshot(engine.module)
    seen = []
    for micro_step in range(6):
        engine.backward(pair_loss(engine, tokenizer, [micro_step % 2]))
        engine.step()
        seen.append(engine.global_steps)
        if micro_step == 0:
            # the first micro-batch accumulates; the weights have not moved yet
            assert not parameters_changed(before.values(), snapshot(engine.module).values())
    assert seen == [0, 1, 1, 2, 2, 3]
    assert parameters_changed(before.values(), snapshot(engine.module).values())


def test_accumulated_gradient_equals_the_full_batch_gradient(model_and_tokenizer):
    # dropout off (eval mode) so that both engines see the same function
    full = fresh_engine(model_and_tokenizer, batch_size=2)
    full.eval()
    full.backward(id_loss(full, FIXED_IDS))
    full_gradients = [p.grad.clone() for p in full.module.parameters()]
    accumulated = fresh_engine(model_and_tokenizer, batch_size=2, micro_batch_size=1)
    accumulated.eval()
    for rows in (slice(0, 2), slice(2, 4)):  # one pair per micro-batch
        accumulated.backward(id_loss(accumulated, FIXED_IDS[rows]))
    # Bradley-Terry is a mean over pairs and DeepSpeed scales each micro-batch loss by 1/2: the sums agree
    for a, b in zip(full_gradients, accumulated.module.parameters()):
        torch.testing.assert_close(b.grad, a, atol=1e-7, rtol=1e-4)
    full.step()
    accumulated.step()
    assert full.global_steps == 1 and accumulated.global_steps == 0  # the boundary is the second micro-batch


def test_warmup_schedule_is_linear():
    settings = EngineSettings(learning_rate=1e-2, batch_size=1, warmup_steps=4)
    model, tokenizer = build_reward_model(SPEC)
    engine = TrainEngine(model, settings, CPU)
    rates = [engine.learning_rate()]
    for _ in range(5):
        engine.backward(pair_loss(engine, tokenizer, [0]))
        engine.step()
        rates.append(engine.learning_rate())
    assert rates == pytest.approx([2.5e-3, 5e-3, 7.5e-3, 1e-2, 1e-2, 1e-2])


def test_save_and_load_state_restore_parameters_and_optimizer(model_and_tokenizer, tmp_path):
    _, tokenizer = model_and_tokenizer
    engine = fresh_engine(model_and_tokenizer)
    for _ in range(3):
        engine.backward(pair_loss(engine, tokenizer, [0, 1]))
        engine.step()
    engine.save_state(tmp_path)
    parameters = snapshot(engine.module)
    optimizer = copy.deepcopy(engine.optimizer.state_dict())  # the live state is updated in place
    for _ in range(3):  # move away from the saved state
        engine.backward(pair_loss(engine, tokenizer, [0, 1]))
        engine.step()
    assert parameters_changed(parameters.values(), snapshot(engine.module).values())

    engine.load_state(tmp_path)
    assert engine.global_steps == 3
    assert not parameters_changed(parameters.values(), snapshot(engine.module).values())
    restored = engine.optimizer.state_dict()
    assert restored["param_groups"] == optimizer["param_groups"]
    assert sorted(restored["state"]) == sorted(optimizer["state"])
    for index, state in optimizer["state"].items():
        for key, value in state.items():
            assert torch.equal(restored["state"][index][key], value), (index, key)


def test_loaded_state_continues_like_the_original(model_and_tokenizer, tmp_path):
    original = fresh_engine(model_and_tokenizer, warmup_steps=4)
    original.eval()  # no dropout: the two engines must compute the same function
    for _ in range(2):
        original.backward(id_loss(original, FIXED_IDS))
        original.step()
    original.save_state(tmp_path, tag="resume")
    resumed = fresh_engine(model_and_tokenizer, warmup_steps=4)
    resumed.eval()
    resumed.load_state(tmp_path, tag="resume")
    assert resumed.learning_rate() == original.learning_rate() == pytest.approx(0.75e-3)  # scheduler restored
    for engine in (original, resumed):
        engine.backward(id_loss(engine, FIXED_IDS))
        engine.step()
    for a, b in zip(original.module.parameters(), resumed.module.parameters()):
        assert torch.equal(a, b)


def test_load_state_of_a_missing_tag(model_and_tokenizer, tmp_path):
    engine = fresh_engine(model_and_tokenizer)
    with pytest.raises(FileNotFoundError, match="no DeepSpeed checkpoint 'nothing'"):
        engine.load_state(tmp_path, tag="nothing")


def test_zero2_state_loads_through_the_allow_list(model_and_tokenizer, tmp_path):
    _, tokenizer = model_and_tokenizer
    engine = fresh_engine(model_and_tokenizer, zero_stage=2)
    engine.backward(pair_loss(engine, tokenizer, [0, 1]))
    engine.step()
    engine.save_state(tmp_path)
    parameters = snapshot(engine.module)
    engine.backward(pair_loss(engine, tokenizer, [0, 1]))
    engine.step()
    engine.load_state(tmp_path)  # optimizer states hold LossScaler, ZeroStageEnum, fragment_address
    assert engine.global_steps == 1
    assert not parameters_changed(parameters.values(), snapshot(engine.module).values())
    assert torch.load is _torch_load  # loading a checkpoint left torch.load as it was


def test_a_malicious_model_state_is_refused_naming_the_file(model_and_tokenizer, tmp_path, plant_malicious_pickle):
    engine = fresh_engine(model_and_tokenizer)
    engine.save_state(tmp_path)
    planted = tmp_path / "engine" / "mp_rank_00_model_states.pt"
    marker = plant_malicious_pickle(planted, "module")
    with pytest.raises(UnsafeCheckpointError) as caught:
        engine.load_state(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{planted}: refused to load") and "write_marker" in message
    assert len(message.splitlines()) == 1
    assert not marker.exists()
    assert torch.load is _torch_load


def test_save_pretrained_loads_with_transformers(model_and_tokenizer, tmp_path):
    _, tokenizer = model_and_tokenizer
    engine = fresh_engine(model_and_tokenizer)
    engine.backward(pair_loss(engine, tokenizer, [0, 1]))
    engine.step()
    engine.save_pretrained(tmp_path / "final", tokenizer)
    assert (tmp_path / "final" / "config.json").is_file()
    assert (tmp_path / "final" / "model.safetensors").is_file()
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "final")
    assert loaded.config.num_labels == 1
    trained = engine.module.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, trained[name]), name


def test_settings_from_configs():
    training = TrainingConfig(learning_rate=3e-4, weight_decay=0.01, batch_size=8, micro_batch_size=4,
                              warmup_steps=5, gradient_clipping=0.5)
    settings = settings_from(training, TrainerConfig(zero_stage=2, gradient_checkpointing=True))
    assert (settings.learning_rate, settings.weight_decay, settings.batch_size) == (3e-4, 0.01, 8)
    assert (settings.micro_batch_size, settings.warmup_steps, settings.gradient_clipping) == (4, 5, 0.5)
    assert settings.zero_stage == 2 and settings.gradient_checkpointing
    assert settings.gradient_accumulation_steps == 2
    assert settings_from(training).zero_stage == 0


def test_batch_size_must_be_a_multiple_of_micro_batch_size():
    with pytest.raises(ValueError, match="batch_size 6 is not a multiple of micro_batch_size 4"):
        EngineSettings(learning_rate=1e-3, batch_size=6, micro_batch_size=4).gradient_accumulation_steps


def test_deepspeed_config_values():
    config = deepspeed_config(EngineSettings(learning_rate=1e-3, batch_size=8, micro_batch_size=2,
                                             gradient_clipping=0.5, zero_stage=2, bf16=True), CPU)
    assert config["train_micro_batch_size_per_gpu"] == 2
    assert config["gradient_accumulation_steps"] == 4
    assert config["gradient_clipping"] == 0.5
    assert config["zero_optimization"] == {"stage": 2}
    assert "bf16" not in config  # bf16 only on CUDA
    assert "optimizer" not in config  # a torch AdamW is passed in
    offload = deepspeed_config(EngineSettings(learning_rate=1e-3, offload_optimizer=True), CPU)
    assert offload["optimizer"]["type"] == "AdamW"
    assert offload["zero_optimization"]["offload_optimizer"] == {"device": "cpu", "pin_memory": False}
