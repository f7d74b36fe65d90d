"""Ctrl-C and SIGTERM as a request to stop at the next step boundary, not an exception in the middle of a step.

    with interrupts.handling_signals(output_dir):
        for step in ...:
            ...one step, its log line and its checkpoint...
            if interrupts.requested():
                ...finish or discard the checkpoint in flight...
                raise interrupts.interrupted(step)

Inside ``handling_signals`` the first SIGINT or SIGTERM only sets a flag; the loop checks ``requested()`` between
steps, leaves a resumable state behind and raises ``RunInterrupted``, whose message is one line saying how to
resume and whose ``exit_code`` is the shell's 128 + signal number (130 for SIGINT, 143 for SIGTERM). A second
signal while waiting for the step to end stops at once (``KeyboardInterrupt``), for a user who will not wait.
Outside the block, and off the main thread (where Python cannot install handlers), signals behave as usual.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(Exception):
    """A run stopped at a step boundary by SIGINT/SIGTERM; its state on disk resumes with ``run.resume=auto``."""

    def __init__(self, signal_number: int, output_dir: Optional[Path], step: Optional[int] = None):
        self.signal_number = int(signal_number)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.step = step
        self.exit_code = 128 + self.signal_number
        super().__init__(self.describe())

    def describe(self) -> str:
        name = signal.Signals(self.signal_number).name
        where = f" after step {self.step}" if self.step is not None else ""
        if self.output_dir is None:
            return f"interrupted by {name}{where}"
        return (f"interrupted by {name}{where}; resume with: pro-rl run {self.output_dir / 'config.yaml'} "
                "run.resume=auto")


class _State:
    signal_number: Optional[int] = None
    output_dir: Optional[Path] = None
    depth: int = 0


_state = _State()


def requested() -> bool:
    """True once SIGINT or SIGTERM arrived inside ``handling_signals``."""
    return _state.signal_number is not None


def signal_number() -> Optional[int]:
    return _state.signal_number


def interrupted(step: Optional[int] = None) -> RunInterrupted:
    """The exception to raise once the loop has stopped cleanly (``requested()`` must be true)."""
    if _state.signal_number is None:
        raise RuntimeError("no interrupt was requested")
    return RunInterrupted(_state.signal_number, _state.output_dir, step)


def raise_if_requested(step: Optional[int] = None) -> None:
    if requested():
        raise interrupted(step)


def _on_signal(number, _frame) -> None:
    if _state.signal_number is not None:
        raise KeyboardInterrupt(f"second {signal.Signals(number).name}: stopping without waiting for the step")
    _state.signal_number = number
    print(f"pro-rl: {signal.Signals(number).name} received, stopping after the current step "
          "(send it again to stop at once)", file=sys.stderr, flush=True)


@contextmanager
def handling_signals(output_dir: Optional[Path] = None) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into ``requested()`` for the duration of the block; nested blocks share the outer one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state.depth:
        _state.depth += 1
        try:
            yield
        finally:
            _state.depth -= 1
        return
    previous = {number: signal.getsignal(number) for number in HANDLED_SIGNALS}
    _state.signal_number, _state.output_dir, _state.depth = None, output_dir, 1
    for number in HANDLED_SIGNALS:
        signal.signal(number, _on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _state.signal_number, _state.output_dir, _state.depth = None, None, 0
