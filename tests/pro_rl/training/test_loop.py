"""Data order of the supervised loop: a pure function of (seed, step), one pass per epoch."""

import pytest
import torch

from pro_rl.config.sections import TrainingConfig
from pro_rl.training.loop import batch_indices, micro_batches, total_steps


def epoch_order(num_examples, seed):
    return torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed)).tolist()


def test_each_example_once_per_epoch():
    num_examples, batch_size = 12, 4
    steps = [batch_indices(num_examples, batch_size, step, seed=0) for step in range(3)]
    assert all(len(indices) == batch_size for indices in steps)
    assert sorted(i for indices in steps for i in indices) == list(range(12))


def test_epochs_are_the_seeded_permutations():
    first_epoch = [i for step in range(3) for i in batch_indices(12, 4, step, seed=5)]
    second_epoch = [i for step in range(3, 6) for i in batch_indices(12, 4, step, seed=5)]
    assert first_epoch == epoch_order(12, 5)
    assert second_epoch == epoch_order(12, 6)  # epoch e uses seed + e
    assert first_epoch != second_epoch


def test_deterministic_and_seed_dependent():
    assert batch_indices(100, 8, 3, seed=1) == batch_indices(100, 8, 3, seed=1)
    assert batch_indices(100, 8, 3, seed=1) != batch_indices(100, 8, 3, seed=2)


def test_batch_across_an_epoch_boundary():
    # 10 examples, batches of 4: step 2 takes the last 2 of epoch 0 and the first 2 of epoch 1
    assert batch_indices(10, 4, 2, seed=0) == epoch_order(10, 0)[8:10] + epoch_order(10, 1)[0:2]
    all_steps = [i for step in range(5) for i in batch_indices(10, 4, step, seed=0)]
    assert sorted(all_steps[:10]) == list(range(10)) and sorted(all_steps[10:20]) == list(range(10))


def test_batch_larger_than_the_data_spans_epochs():
    indices = batch_indices(3, 7, 0, seed=0)
    assert indices == epoch_order(3, 0) + epoch_order(3, 1) + epoch_order(3, 2)[:1]


def test_no_examples_is_an_error():
    with pytest.raises(ValueError, match="no training examples"):
        batch_indices(0, 4, 0, seed=0)


@pytest.mark.parametrize("num_examples, batch_size, epochs, max_steps, min_steps, expected", [
    (100, 10, 1.0, 0, 0, 10),
    (101, 10, 1.0, 0, 0, 11),   # a partial last batch counts
    (100, 10, 2.0, 0, 0, 20),
    (100, 10, 0.5, 0, 0, 5),
    (100, 10, 2.0, 7, 0, 7),    # max_steps caps
    (100, 10, 1.0, 50, 0, 10),  # a larger max_steps does not extend
    (5, 32, 0.01, 0, 0, 1),     # at least one step
    (1350, 32, 1.0, 0, 0, 43),  # a tiny reward model's run
    (270, 32, 2.0, 0, 100, 100),  # min_steps adds passes over small data
    (2700, 32, 2.0, 0, 100, 169),  # and leaves larger data to its epochs
    (270, 32, 2.0, 60, 100, 60),  # max_steps still caps
])
def test_total_steps(num_examples, batch_size, epochs, max_steps, min_steps, expected):
    training = TrainingConfig(batch_size=batch_size, epochs=epochs, max_steps=max_steps, min_steps=min_steps)
    assert total_steps(num_examples, training) == expected


def test_micro_batches():
    assert micro_batches([1, 2, 3, 4, 5, 6], 2) == [[1, 2], [3, 4], [5, 6]]
    assert micro_batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert micro_batches([1, 2, 3], 0) == [[1, 2, 3]]


class RecordingEngine:
    """Stands in for TrainEngine in ``fit``: counts calls, saves and loads its step count as its 'state'."""

    def __init__(self):
        self.backward_calls = 0
        self.optimizer_steps = 0
        self.mode = None

    def train(self):
        self.mode = "train"

    def eval(self):
        self.mode = "eval"

    def backward(self, loss):
        self.backward_calls += 1

    def step(self):
        self.optimizer_steps += 1

    def learning_rate(self):
        return 0.5

    def save_state(self, directory):
        (directory / "engine.txt").write_text(str(self.optimizer_steps))

    def load_state(self, directory):
        self.optimizer_steps = int((directory / "engine.txt").read_text())


def run_fit(tmp_path, steps, resume, batches, checkpoint_every=2, micro_batch_size=0):
    from pro_rl.training.loop import LoopSettings, fit
    from pro_rl.training.metrics import MetricsLogger

    engine = RecordingEngine()

    def loss_of(indices):
        batches.append(list(indices))
        return torch.tensor(1.0), {"train/size": len(indices)}

    metrics = MetricsLogger(tmp_path / "run", tensorboard=False)
    settings = LoopSettings(name="test", steps=steps, batch_size=4, micro_batch_size=micro_batch_size, seed=3,
                            checkpoint_every=checkpoint_every, resume=resume, progress=False)
    result = fit(engine, 10, loss_of, lambda: {"eval/score": 1.5}, settings, metrics, tmp_path / "run" / "checkpoints")
    return engine, result, metrics


def test_fit_resumes_with_the_same_batches(tmp_path):
    uninterrupted = []
    run_fit(tmp_path / "a", steps=6, resume=False, batches=uninterrupted)
    assert uninterrupted == [batch_indices(10, 4, step, seed=3) for step in range(6)]

    first, resumed = [], []
    run_fit(tmp_path / "b", steps=4, resume=False, batches=first)
    engine, result, metrics = run_fit(tmp_path / "b", steps=6, resume=True, batches=resumed)
    assert first + resumed == uninterrupted
    assert engine.optimizer_steps == 6  # 4 restored from the checkpoint, 2 new
    assert result == {"eval/score": 1.5}
    from pro_rl.training.metrics import read_metrics

    logged = [row["step"] for row in read_metrics(metrics.path)]
    assert logged == [1, 2, 3, 4, 5, 6, 6]  # as one 6-step run: the first run's final eval at step 4 is dropped


def test_resuming_one_loop_keeps_the_lines_of_another(tmp_path):
    from pro_rl.training.loop import owned_after

    theirs = {"step": 9, "train/helpful/loss": 0.1, "train/learning_rate": 0.5}
    mine_later = {"step": 3, "train/harmless/loss": 0.2, "train/learning_rate": 0.5}
    mine_final_eval = {"step": 2, "eval/harmless/accuracy": 0.7}
    mine_step = {"step": 2, "train/harmless/loss": 0.3, "train/learning_rate": 0.5}
    assert [owned_after(r, 2, "/harmless/") for r in (theirs, mine_later, mine_final_eval, mine_step)] == \
        [False, True, True, False]
    assert owned_after(theirs, 2, "")  # no marker: every line is the loop's


def test_an_interrupt_checkpoints_the_step_and_raises(tmp_path):
    from pro_rl.training import interrupts
    from pro_rl.training.interrupts import RunInterrupted

    with interrupts.handling_signals(tmp_path / "run"):
        with pytest.raises(RunInterrupted) as caught:
            run_fit(tmp_path, steps=6, resume=False, batches=SignallingList(3), checkpoint_every=0)
    assert caught.value.step == 3 and caught.value.exit_code == 130
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-000003"]
    resumed = []
    engine, _, metrics = run_fit(tmp_path, steps=6, resume=True, batches=resumed, checkpoint_every=0)
    assert resumed == [batch_indices(10, 4, step, seed=3) for step in range(3, 6)]
    assert engine.optimizer_steps == 6


class SignallingList(list):
    """Records batches; sends this process SIGINT while recording batch number ``at``."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def append(self, item):
        import os
        import signal

        super().append(item)
        if len(self) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_fit_logs_micro_batch_weighted_stats(tmp_path):
    batches = []
    engine, _, metrics = run_fit(tmp_path, steps=2, resume=False, batches=batches, checkpoint_every=0,
                                 micro_batch_size=2)
    assert [len(batch) for batch in batches] == [2, 2, 2, 2]
    assert engine.backward_calls == 4 and engine.mode == "eval"
    assert metrics.last["train/size"] == pytest.approx(2.0)  # weighted mean of the micro-batch stats
    assert metrics.last["train/learning_rate"] == 0.5
    assert not (tmp_path / "run" / "checkpoints").exists() or not any((tmp_path / "run" / "checkpoints").iterdir())
