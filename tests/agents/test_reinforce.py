"""REINFORCE: exact gradients and Adam (checked against torch), the EMA baseline, concentration, stalls."""

from __future__ import annotations

import numpy as np
import pytest

from agents import reinforce
from agents.common import run_search


def _info(reward: float, arch: int = 0, repeat: bool = False, cost: float = 100.0) -> dict:
    return {"valid_accuracy": reward, "arch": arch, "repeat": repeat, "cost": cost, "clock": 0.0}


def test_policy_is_a_softmax_per_edge_initialised_near_uniform():
    agent = reinforce.Reinforce(reinforce.Args(), seed=0)
    p = agent.probabilities()
    assert p.shape == (6, 5) and np.allclose(p.sum(axis=1), 1.0)
    assert np.abs(agent.logits).max() < 0.01  # 1e-3 * randn, as the reference
    assert agent.entropy() == pytest.approx(6 * np.log(5), abs=1e-4)
    action = agent.ask()
    assert action.shape == (6,) and action.dtype.kind == "i" and action.min() >= 0 and action.max() < 5


def test_first_reward_is_the_baseline_so_the_first_step_changes_nothing():
    agent = reinforce.Reinforce(reinforce.Args(), seed=0)
    before = agent.logits.copy()
    agent.tell(agent.ask(), _info(80.0))
    assert agent.baseline() == 80.0 and np.array_equal(agent.logits, before)
    agent.tell(agent.ask(), _info(90.0))
    # bias-corrected EMA with momentum 0.9: (0.09 * 80 + 0.1 * 90) / (0.09 + 0.1)
    assert agent.baseline() == pytest.approx((0.09 * 80 + 0.1 * 90) / 0.19)


def test_updates_match_the_torch_reference_step_for_step():
    """Same samples and rewards through torch's Categorical log-prob, autograd and Adam give the same logits."""
    torch = pytest.importorskip("torch")
    args = reinforce.Args(learning_rate=0.05)
    agent = reinforce.Reinforce(args, seed=1)
    logits = torch.nn.Parameter(torch.tensor(agent.logits, dtype=torch.float64))
    optimizer = torch.optim.Adam([logits], lr=args.learning_rate)
    num = den = 0.0
    rng = np.random.default_rng(5)
    for _ in range(40):
        action = agent.ask()
        reward = float(rng.uniform(10, 90))
        agent.tell(action, _info(reward))
        # the reference: baseline updated first, loss = -(r - b) * sum log p(a)
        num, den = 0.9 * num + 0.1 * reward, 0.9 * den + 0.1
        dist = torch.distributions.Categorical(torch.softmax(logits, dim=-1))
        loss = (-dist.log_prob(torch.as_tensor(action)) * (reward - num / den)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert np.allclose(agent.logits, logits.detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("lr", "budget", "drop"),
    [(0.001, 12_000.0, 1e-4), (0.001, 120_000.0, 0.03), (0.1, 12_000.0, 2.0)],
)
def test_policy_concentrates_while_searching(lr, budget, drop, make_env):
    """The entropy (9.66 nats when uniform) falls: slowly at the reference learning rate, fast at 0.1."""
    agent = reinforce.Reinforce(reinforce.Args(learning_rate=lr), seed=2)
    start = agent.entropy()
    result = run_search(make_env(budget=budget), agent, seed=2)
    assert result.evaluations > budget / 150 and agent.entropy() < start - drop


def test_a_converged_policy_ends_the_run_instead_of_looping(make_env):
    """At a huge learning rate the policy collapses onto known cells, which cost nothing: stop, and say so."""
    env = make_env(budget=12000.0)
    result = reinforce.search(env, reinforce.Args(learning_rate=5.0, stall_patience=200), seed=0)
    assert not env.unwrapped.clock.exhausted and "free repeats in a row" in result.settings["stopped_early"]
    assert set(result.archs[-200:].tolist()) <= set(result.archs[:-200].tolist())  # all repeats
