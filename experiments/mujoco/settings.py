"""The published MO-MuJoCo table's settings (C-MORL, Liu et al., ICLR 2025, Table 2) for
C-MORL and, at the same budgets, MORL/D with a PPO and a SAC learner.

Environments are MO-Gymnasium's v4 ids simulated in MuJoCo C on the host
(`morl.envs.host`), episodes capped at 500 steps as in C-MORL (`max_episode_steps=500`),
evaluation returns discounted with gamma 0.99, hypervolume reference points (-100)^m.

C-MORL's PPO is the public code's (lr 3e-4 linear decay, gamma 0.995, GAE 0.95, clip
0.2, 10 epochs, 32 minibatches, 512 steps x 8 envs, grad norm 0.5, 64-64 tanh actor and
vector critic, per-objective return normalisation). Budget arithmetic: with 4096 steps
per update, T - T_init holds one extension round only with fewer than the paper's 20
updates per constrained problem, so `fit_extension` picks the largest count (<= 20) that
fits. MORL/D runs a population of 6 (C-MORL's initial policies) on the same PPO, or SAC
with its defaults, for the same total env steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from morl.algorithms.cmorl import CMORLConfig
from morl.algorithms.cmorl import PPOSection as CMORLPPO
from morl.algorithms.morld.config import MORLDConfig, SACSection
from morl.algorithms.morld.config import PPOSection as MORLDPPO

EPISODE_CAP = 500  # C-MORL caps every episode at 500 steps
EVAL_GAMMA = 0.99
ENV_KWARGS = (f"max_episode_steps={EPISODE_CAP}",)


class Task(NamedTuple):
    """One row of the table: the env, total steps T, C-MORL's init-stage steps T_init,
    the hypervolume reference point, and C-MORL's published HV / EU / SP."""

    env_id: str
    total_steps: int
    init_steps: int
    ref_point: tuple[float, ...]
    published: dict[str, dict[str, float]]


TASKS: dict[str, Task] = {
    "hopper-2d": Task("mo-hopper-2d-v4", 1_500_000, 1_000_000, (-100.0, -100.0), {
        "C-MORL": {"hypervolume": 1.37e5, "expected_utility": 2.53e2, "sparsity": 1.13e2},
        "PGMORL": {"hypervolume": 1.20e5}, "GPI-LS": {"hypervolume": 1.19e5}}),
    "hopper-3d": Task("mo-hopper-v4", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0), {
        "C-MORL": {"hypervolume": 2.19e7, "expected_utility": 1.81e2, "sparsity": 0.53e2}}),
    "ant-2d": Task("mo-ant-2d-v4", 1_500_000, 1_000_000, (-100.0, -100.0), {
        "C-MORL": {"hypervolume": 1.31e5, "expected_utility": 2.50e2, "sparsity": 2.65e3},
        "PGMORL": {"hypervolume": 0.35e5}, "GPI-LS": {"hypervolume": 1.17e5}}),
    "ant-3d": Task("mo-ant-v4", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0), {
        "C-MORL": {"hypervolume": 2.61e7, "expected_utility": 2.06e2, "sparsity": 0.06e3}}),
    "humanoid-2d": Task("mo-humanoid-v4", 1_500_000, 1_000_000, (-100.0, -100.0), {
        "C-MORL": {"hypervolume": 3.43e5, "expected_utility": 4.78e2, "sparsity": 2.21e4}}),
}

CMORL_PPO = CMORLPPO(
    num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    normalize_returns=True, lr_schedule="linear", max_eval_steps=EPISODE_CAP, learning_rate=3e-4, gamma=0.995,
    gae_lambda=0.95, clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)
MORLD_PPO = MORLDPPO(
    num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    normalize_returns=True, lr_schedule="linear", learning_rate=3e-4, gamma=0.995, gae_lambda=0.95, clip_eps=0.2,
    ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)

#: The table's rows: algorithm name -> the `morl train` algorithm it runs.
ALGORITHMS = {"cmorl": "cmorl", "morld": "morld", "morld-sac": "morld"}


def fit_extension(config: CMORLConfig, reward_dim: int) -> CMORLConfig:
    """`config` with the largest `extension_updates <= 20` that leaves one extension round."""
    for updates in range(20, 0, -1):
        candidate = dataclasses.replace(config, extension_updates=updates)
        try:
            candidate.budget(reward_dim)
        except ValueError:
            continue
        return candidate
    raise ValueError(f"{config.env}: T={config.total_steps} cannot hold one extension round")


def config(algorithm: str, task: str) -> Any:
    """The algorithm config of one row (`algorithm` a key of `ALGORITHMS`)."""
    t = TASKS[task]
    if algorithm == "cmorl":
        cmorl = CMORLConfig(
            env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=t.total_steps, init_steps=t.init_steps,
            ref_point=t.ref_point, eval_gamma=EVAL_GAMMA, num_policies=6, eval_interval=10, eval_episodes=1,
            ppo=CMORL_PPO,
        )
        return fit_extension(cmorl, len(t.ref_point))
    common = dict(
        env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=t.total_steps, ref_point=t.ref_point, eval_gamma=EVAL_GAMMA,
        pop_size=6, weight_init="uniform", scalarization="weighted_sum", eval_period=5, eval_episodes=1,
        max_eval_steps=EPISODE_CAP, archive_capacity=64,
    )
    if algorithm == "morld":
        return MORLDConfig(**common, ppo=MORLD_PPO)
    if algorithm == "morld-sac":
        return MORLDConfig(**common, learner="sac", sac=SACSection())
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


def smoke(algorithm: str, task: str) -> Any:
    """A CPU-sized copy of a row's config (a few thousand steps; its numbers mean nothing)."""
    full = config(algorithm, task)
    if algorithm == "cmorl":
        ppo = dataclasses.replace(full.ppo, num_envs=2, num_steps=64, num_epochs=1, num_minibatches=2)
        small = dataclasses.replace(full, ppo=ppo, num_policies=2, total_steps=6_000, init_steps=1_024,
                                    eval_interval=2, n_select=1)
        return fit_extension(small, len(full.ref_point))
    if algorithm == "morld":
        ppo = dataclasses.replace(full.ppo, num_envs=2, num_steps=64, num_epochs=1, num_minibatches=2)
        return dataclasses.replace(full, ppo=ppo, pop_size=len(full.ref_point), total_steps=2_048, eval_period=2,
                                   chunk_iterations=4)
    sac = dataclasses.replace(full.sac, num_envs=2, rollout_steps=8, gradient_steps=2, batch_size=32,
                              buffer_size=2_000, learning_starts=64, hidden_sizes=(32, 32))
    return dataclasses.replace(full, sac=sac, pop_size=len(full.ref_point), total_steps=1_024, eval_period=2,
                               chunk_iterations=4)
