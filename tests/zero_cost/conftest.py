"""Fixtures of the zero-cost tests."""

from __future__ import annotations

import pytest

from nb201_env.zero_cost.minibatch import Minibatch

from zero_cost_helpers import synthetic_minibatch


@pytest.fixture(scope="module")
def batch() -> Minibatch:
    return synthetic_minibatch()
