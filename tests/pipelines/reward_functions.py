"""Reward functions for the failure-rule and resume tests, loaded by reward actors as ``reward_functions:<name>``.

Not a test module: ``tests/conftest.py`` puts this directory on the ``PYTHONPATH`` of the session's Ray workers,
and the subprocess tests put it on their driver's, whose local cluster inherits it.
"""

from __future__ import annotations

import math
import os
import time
from typing import List, Sequence

from pro_rl.data.toy_world import humor_reward

STALL_ENV = "PRO_RL_TEST_STALL_AFTER_CALLS"
_calls = 0


def nan_on_first_row(prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
    """NaN for the first response of every batch, 0.5 for the others."""
    return [math.nan] + [0.5] * (len(responses) - 1)


def humor_reward_stalling(prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
    """The toy world's humor reward; when ``$PRO_RL_TEST_STALL_AFTER_CALLS`` is N, call N+1 and later hang.

    A run that scores once per step then stops inside step N+1's score stage, so a test can kill it there.
    """
    global _calls
    _calls += 1
    stall_after = int(os.environ.get(STALL_ENV, "0"))
    if stall_after and _calls > stall_after:
        time.sleep(3600)
    return humor_reward(prompts, responses)
