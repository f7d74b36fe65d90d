"""pro_rl/training/distributed.py: how a training group shares rows, and the engine's sizes for N ranks."""

from types import SimpleNamespace

import pytest
import torch

from pro_rl.training.distributed import mean_stats, merge_rows, rank_share, row_shares
from pro_rl.training.engine import EngineSettings, deepspeed_config
from pro_rl.training.rl_update import batch_sizes


def test_rank_share_is_the_contiguous_nth_of_a_mini_batch():
    indices = torch.tensor([5, 2, 7, 0, 3, 6])

    assert rank_share(indices, 0, 2).tolist() == [5, 2, 7]
    assert rank_share(indices, 1, 2).tolist() == [0, 3, 6]
    assert rank_share(indices, 2, 3).tolist() == [3, 6]
    with pytest.raises(ValueError, match="6 rows does not split over 4 ranks"):
        rank_share(indices, 0, 4)


def test_row_shares_pad_the_last_share_with_the_final_row():
    assert row_shares(5, 2) == [[0, 1, 2], [3, 4, 4]]
    assert row_shares(4, 2) == [[0, 1], [2, 3]]
    assert row_shares(1, 3) == [[0], [0], [0]]
    with pytest.raises(ValueError, match="at least one row"):
        row_shares(0, 2)


def test_merge_rows_pads_to_the_widest_part_and_drops_the_copies():
    parts = [torch.tensor([[-1.0], [-2.0]]), torch.tensor([[-3.0, -4.0], [-3.0, -4.0]])]

    assert merge_rows(parts, 3).tolist() == [[-1.0, 0.0], [-2.0, 0.0], [-3.0, -4.0]]


def test_mean_stats_average_each_key_over_the_ranks():
    assert mean_stats([{"loss": 1.0, "clip": 0.0}, {"loss": 2.0, "clip": 0.5}]) == {"loss": 1.5, "clip": 0.25}


def test_engine_settings_accumulate_the_global_batch_over_the_ranks():
    # 16 rows per optimizer step in micro-batches of 2: one rank accumulates 8, two ranks 4 each, four ranks 2 each
    for world, accumulation in ((1, 8), (2, 4), (4, 2)):
        settings = EngineSettings(learning_rate=1e-3, batch_size=16, micro_batch_size=2, world_size=world)
        assert settings.gradient_accumulation_steps == accumulation
        config = deepspeed_config(settings, torch.device("cpu"))
        assert config["train_micro_batch_size_per_gpu"] * config["gradient_accumulation_steps"] * world == 16
    # no micro-batch size: each rank takes its whole share in one pass
    assert EngineSettings(learning_rate=1e-3, batch_size=8, world_size=2).gradient_accumulation_steps == 1
    with pytest.raises(ValueError, match=r"batch_size 6 is not a multiple of micro_batch_size 2 × 2 rank"):
        EngineSettings(learning_rate=1e-3, batch_size=6, micro_batch_size=2, world_size=2).gradient_accumulation_steps


def test_batch_sizes_of_a_rank_check_the_split_over_the_group():
    fake = SimpleNamespace(settings=EngineSettings(learning_rate=1e-3, batch_size=8, micro_batch_size=2,
                                                   world_size=2))

    assert batch_sizes(fake, 16, mini_batch_size=8) == (8, 2)
    with pytest.raises(ValueError, match="over 2 ranks"):
        batch_sizes(fake, 12, mini_batch_size=6, micro_batch_size=2)
