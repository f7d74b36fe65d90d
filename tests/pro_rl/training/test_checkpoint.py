"""Atomic checkpoints: temp dir, manifest, rename; rename-then-delete pruning; fallback to the newest complete
checkpoint; RNG state as JSON and legacy rng.pt files through the safe loader."""

import json
import logging
import random

from pathlib import Path

import numpy as np
import pytest
import torch

from pro_rl.training.checkpoint import (
    MANIFEST_FILE,
    STATE_FILE,
    atomic_checkpoint,
    checkpoint_name,
    latest_checkpoint,
    list_checkpoints,
    read_state,
    remove_partial,
    restore_rng,
    rng_state,
    verify_checkpoint,
    write_manifest,
)
from pro_rl.training.safe_load import UnsafeCheckpointError


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
    assert (path / "rng.json").is_file()
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert manifest["step"] == 5
    assert sorted(manifest["files"]) == ["rng.json", STATE_FILE, "weights.txt"]
    assert manifest["files"]["weights.txt"]["size"] == len("weights of step 5")
    assert len(manifest["files"]["weights.txt"]["sha256"]) == 64
    assert verify_checkpoint(path) is None
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


def test_remove_partial_deletes_temp_and_trash_dirs_only(tmp_path):
    write(tmp_path, 1)
    (tmp_path / ".tmp-step-000002").mkdir()
    (tmp_path / ".tmp-step-000002" / "half.bin").write_bytes(b"x")
    (tmp_path / ".tmp-step-000003").mkdir()
    (tmp_path / ".trash-step-000000").mkdir()  # a prune cut short
    assert remove_partial(tmp_path) == 3
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
    (tmp_path / "step-000020").mkdir()  # neither manifest.json nor trainer_state.json: incomplete
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


def test_rng_state_is_plain_json():
    state = json.loads(json.dumps(rng_state()))
    assert sorted(state) == ["numpy", "python", "torch"]
    assert len(state["numpy"][1]) == 624 and len(state["python"][1]) == 625
    assert state["torch"] == torch.get_rng_state().tolist()


def test_legacy_rng_pt_is_restored_through_the_safe_loader(tmp_path):
    torch.manual_seed(5)
    random.seed(5)
    np.random.seed(5)
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
               tmp_path / "rng.pt")
    expected = (torch.rand(2), random.random(), np.random.rand(2))
    torch.rand(9), random.random(), np.random.rand(9)
    restore_rng(tmp_path)
    torch.testing.assert_close(torch.rand(2), expected[0], rtol=0, atol=0)
    assert random.random() == expected[1]
    np.testing.assert_array_equal(np.random.rand(2), expected[2])


def test_a_malicious_legacy_rng_pt_is_refused_naming_the_file(tmp_path, plant_malicious_pickle):
    marker = plant_malicious_pickle(tmp_path / "rng.pt", "python")
    with pytest.raises(UnsafeCheckpointError, match=r"rng\.pt: refused to load"):
        restore_rng(tmp_path)
    assert not marker.exists()


def test_an_interrupted_prune_leaves_no_step_dir_that_counts(tmp_path, monkeypatch):
    import shutil

    write(tmp_path, 1)
    write(tmp_path, 2)
    real_rmtree = shutil.rmtree

    def killed_midway(path, *args, **kwargs):
        if not (Path(path).name.startswith(".trash-") and Path(path).exists()):
            return real_rmtree(path, *args, **kwargs)
        (Path(path) / "weights.txt").unlink()  # half deleted, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path, 3)  # prunes step 1
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".trash-step-000001", "step-000002", "step-000003"]
    assert [step for step, _ in list_checkpoints(tmp_path)] == [2, 3]
    assert remove_partial(tmp_path) == 1


def test_resume_falls_back_past_damaged_checkpoints_with_a_warning(tmp_path, caplog):
    good = write(tmp_path, 1, keep=0)
    truncated = write(tmp_path, 2, keep=0)
    (truncated / "weights.txt").write_text("weights of")
    without_policy = write(tmp_path, 3, keep=0)
    (without_policy / "policy").mkdir()
    (without_policy / "policy" / "mp_rank_00_model_states.pt").write_bytes(b"x" * 10)
    write_manifest(without_policy, 3)
    (without_policy / "policy" / "mp_rank_00_model_states.pt").unlink()
    (without_policy / "policy").rmdir()
    unsealed = write(tmp_path, 4, keep=0)
    (unsealed / MANIFEST_FILE).unlink()
    (unsealed / STATE_FILE).unlink()  # neither marker: not even listed
    changed = write(tmp_path, 5, keep=0)
    (changed / "weights.txt").write_text("weights of step 9")  # same size, other bytes
    with caplog.at_level(logging.WARNING, logger="pro_rl.training"):
        assert latest_checkpoint(tmp_path) == good
    skipped = [record.getMessage() for record in caplog.records]
    assert skipped == [
        f"checkpoint {changed} skipped: weights.txt does not match its sha256 in the manifest",
        f"checkpoint {without_policy} skipped: policy/mp_rank_00_model_states.pt missing",
        f"checkpoint {truncated} skipped: weights.txt has 10 bytes, the manifest says 17 (truncated or changed)",
    ]


def test_a_checkpoint_without_manifest_is_the_fallback_of_last_resort(tmp_path, caplog):
    legacy = write(tmp_path, 1, keep=0)
    (legacy / MANIFEST_FILE).unlink()  # as written before manifests existed
    assert verify_checkpoint(legacy) == "no manifest.json (not sealed)"
    with caplog.at_level(logging.WARNING, logger="pro_rl.training"):
        assert latest_checkpoint(tmp_path) == legacy
    assert "has no manifest (written by an older pro-rl): resuming from it unverified" in caplog.text
    newer = write(tmp_path, 2, keep=0)
    assert latest_checkpoint(tmp_path) == newer


def test_restore_rng_without_a_file_changes_nothing(tmp_path):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    restore_rng(tmp_path)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)
