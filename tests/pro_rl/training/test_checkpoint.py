"""Atomic checkpoints: temp dir then rename, pruning, partial clean-up, and RNG state."""

import json
import random

import numpy as np
import pytest
import torch

from pro_rl.training.checkpoint import (
    STATE_FILE,
    atomic_checkpoint,
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    read_state,
    remove_partial,
    restore_rng,
)


def write(root, step, keep=2, **state):
    with atomic_checkpoint(root, step, state, keep=keep) as directory:
        (directory / "weights.txt").write_text(f"weights of step {step}")
    return root / checkpoint_name(step)


def test_checkpoint_name_is_zero_padded():
    assert checkpoint_name(7) == "step-000007"
    assert checkpoint_name(1234567) == "step-1234567"


def test_a_complete_checkpoint_holds_files_state_and_rng(tmp_path):
    path = write(tmp_path, 5, position=40)
    assert path == tmp_path / "step-000005"
    assert (path / "weights.txt").read_text() == "weights of step 5"
    assert read_state(path) == {"step": 5, "position": 40}
    assert (path / "rng.pt").is_file()
    assert latest_checkpoint(tmp_path) == path
    assert [p.name for p in tmp_path.iterdir()] == ["step-000005"]  # the temp dir is gone


def test_the_temp_dir_is_hidden_while_writing(tmp_path):
    write(tmp_path, 1)
    with atomic_checkpoint(tmp_path, 2, {}) as directory:
        assert directory.name == ".tmp-step-000002"
        assert latest_checkpoint(tmp_path) == tmp_path / "step-000001"
        assert [step for step, _ in list_checkpoints(tmp_path)] == [1]
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000002"


def test_an_exception_inside_leaves_no_new_checkpoint(tmp_path):
    previous = write(tmp_path, 1)
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_checkpoint(tmp_path, 2, {}) as directory:
            (directory / "weights.txt").write_text("half")
            raise RuntimeError("killed while writing")
    assert not (tmp_path / "step-000002").exists()
    assert latest_checkpoint(tmp_path) == previous
    assert read_state(previous) == {"step": 1}


def test_remove_partial_deletes_temp_dirs_only(tmp_path):
    write(tmp_path, 1)
    (tmp_path / ".tmp-step-000002").mkdir()
    (tmp_path / ".tmp-step-000002" / "half.bin").write_bytes(b"x")
    (tmp_path / ".tmp-step-000003").mkdir()
    assert remove_partial(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000001"]
    assert remove_partial(tmp_path) == 0
    assert remove_partial(tmp_path / "missing") == 0


def test_keep_two_prunes_older_checkpoints(tmp_path):
    for step in (1, 2, 3, 4):
        write(tmp_path, step, keep=2)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [3, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000003", "step-000004"]


def test_keep_zero_keeps_everything(tmp_path):
    for step in (1, 2, 3):
        write(tmp_path, step, keep=0)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [1, 2, 3]


def test_rewriting_a_step_replaces_it(tmp_path):
    write(tmp_path, 2, position=1)
    write(tmp_path, 2, position=9)
    assert read_state(tmp_path / "step-000002") == {"step": 2, "position": 9}
    assert [step for step, _ in list_checkpoints(tmp_path)] == [2]


def test_list_ignores_incomplete_and_foreign_dirs(tmp_path):
    write(tmp_path, 10)
    (tmp_path / "step-000020").mkdir()  # no trainer_state.json: incomplete
    (tmp_path / "step-30").mkdir()  # not the pattern
    (tmp_path / "step-000040").write_text("a file")
    (tmp_path / "notes").mkdir()
    assert [step for step, _ in list_checkpoints(tmp_path)] == [10]
    assert list_checkpoints(tmp_path / "missing") == []
    assert latest_checkpoint(tmp_path / "missing") is None


def test_checkpoints_sort_by_step_not_name(tmp_path):
    for step in (999999, 1000000, 5):
        write(tmp_path, step, keep=0)
    assert [step for step, _ in list_checkpoints(tmp_path)] == [5, 999999, 1000000]
    assert latest_checkpoint(tmp_path).name == "step-1000000"


def test_state_file_is_json(tmp_path):
    path = write(tmp_path, 3, normaliser={"mean": [0.5, 1.5]})
    assert json.loads((path / STATE_FILE).read_text())["normaliser"] == {"mean": [0.5, 1.5]}


def test_restore_rng_reproduces_random_draws(tmp_path):
    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    path = write(tmp_path, 1)
    expected = (torch.rand(5), random.random(), np.random.rand(3))
    torch.rand(100), random.random(), np.random.rand(7)  # move every generator on
    restore_rng(path)
    torch.testing.assert_close(torch.rand(5), expected[0], rtol=0, atol=0)
    assert random.random() == expected[1]
    np.testing.assert_array_equal(np.random.rand(3), expected[2])


def test_restore_rng_without_a_file_changes_nothing(tmp_path):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    restore_rng(tmp_path)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)
