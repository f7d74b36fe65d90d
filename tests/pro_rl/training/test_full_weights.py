"""Whole weights for the weight sync under ZeRO-3: gathered a bounded bucket at a time, equal to the model's own."""

import copy

import pytest
import torch

from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_policy
from pro_rl.training.engine import EngineSettings, TrainEngine
from pro_rl.training.full_weights import (bucket_names, is_partitioned, weight_buckets, whole_bytes, whole_metadata,
                                          whole_state_dict)


@pytest.fixture(scope="module")
def model():
    return build_policy(ModelConfig(model="tiny:gpt2"))[0]


@pytest.fixture(scope="module")
def zero3(model):
    return TrainEngine(copy.deepcopy(model), EngineSettings(learning_rate=1e-3, batch_size=2, zero_stage=3),
                       torch.device("cpu"))


def test_zero3_holds_placeholders_that_the_buckets_gather_whole(model, zero3):
    reference = model.state_dict()
    state = zero3.module.state_dict(keep_vars=True)
    assert any(is_partitioned(tensor) and tensor.numel() == 0 for tensor in state.values())  # what a plain sync sent
    limit = 64 * 1024  # bytes: several buckets for this model
    gathered, sizes = {}, []
    for bucket in weight_buckets(zero3.module, limit):
        params = {id(state[name]): state[name] for name in bucket if is_partitioned(state[name])}
        sizes.append((sum(whole_bytes(p) for p in params.values()), max(whole_bytes(p) for p in params.values())))
        gathered.update({name: tensor.clone() for name, tensor in bucket.items()})
    assert len(sizes) > 3
    assert all(total <= limit or total == largest for total, largest in sizes)  # one bucket, or one big parameter
    assert gathered.keys() == reference.keys()
    for name in reference:
        torch.testing.assert_close(gathered[name], reference[name], rtol=0, atol=0, msg=name)
    assert all(tensor.numel() == 0 for tensor in zero3.module.state_dict(keep_vars=True).values()
               if is_partitioned(tensor))  # released again after the walk


def test_tied_weights_gather_once_and_keep_both_names(model, zero3):
    whole = whole_state_dict(zero3.module, "cpu", bucket_bytes=1)  # every parameter a bucket of its own
    assert torch.equal(whole["lm_head.weight"], whole["transformer.wte.weight"])
    torch.testing.assert_close(whole["lm_head.weight"], model.state_dict()["lm_head.weight"], rtol=0, atol=0)
    assert [(name, shape) for name, _, shape in whole_metadata(zero3.module)] == [
        (name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]


def test_without_zero3_the_module_is_one_bucket_of_its_own_tensors(model):
    buckets = list(weight_buckets(model, bucket_bytes=1))
    assert len(buckets) == 1 and buckets[0].keys() == model.state_dict().keys()
    assert buckets[0]["transformer.wte.weight"].data_ptr() == model.transformer.wte.weight.data_ptr()


def test_bucket_names_cut_at_the_limit_and_count_a_shared_parameter_once():
    class Partitioned(torch.Tensor):
        pass

    def parameter(numel):
        tensor = torch.empty(0).as_subclass(Partitioned)
        tensor.ds_id, tensor.ds_numel = numel, numel
        return tensor

    shared = parameter(10)
    state = {"a": parameter(10), "b": shared, "c": shared, "buffer": torch.zeros(3), "d": parameter(100),
             "e": shared}
    # 4-byte floats: b and c share 40 bytes; e is b again after a cut, so it is gathered (and counted) again
    assert bucket_names(state, bucket_bytes=80) == [["a", "b", "c", "buffer"], ["d"], ["e"]]
    assert bucket_names(state, bucket_bytes=79) == [["a"], ["b", "c", "buffer"], ["d"], ["e"]]
    assert bucket_names(state, bucket_bytes=10 ** 6) == [["a", "b", "c", "buffer", "d", "e"]]
    with pytest.raises(ValueError, match="bucket_bytes"):
        bucket_names(state, 0)
