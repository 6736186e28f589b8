"""The published MO-MuJoCo settings: C-MORL's (Liu et al., ICLR 2025) and MORL/D's
(Felten et al., JAIR 2024), on the MJX ports.

C-MORL (../shared/ALGORITHMS.md section 2): nominal steps T / T_init, hypervolume
reference points, episodes capped at 500 steps, evaluation returns discounted with
gamma 0.99, and the public code's PPO numbers (lr 3e-4 linear decay, gamma 0.995, GAE
0.95, clip 0.2, 10 epochs, 32 minibatches, 512 steps x 8 envs, grad norm 0.5, 64-64
tanh, per-objective return normalisation). Two choices the paper does not pin down:
- Ant-3d has no T / T_init in ALGORITHMS.md; it takes Hopper-3d's 2.0M / 1.5M.
- With 512 x 8 = 4096 steps per update, T - T_init leaves room for one extension round
  only if a round is shorter than the paper's 20 updates per problem; `extension_updates`
  is the largest value (<= 20) for which one round fits (see `fit_extension`).

MORL/D (the issue's settings): mo-halfcheetah-v5 3e6 and mo-hopper-2obj-v5 8e6 env steps
summed over a population of 6, reference point (-100, -100), weighted sum, uniform
weights, evaluation gamma 0.99. The paper's base learner is MOSAC; this project's MORL/D
trains PPO (docs/mujoco.md says so beside the numbers).
"""

from __future__ import annotations

import dataclasses

from morl.algorithms.cmorl import CMORLConfig
from morl.algorithms.cmorl import PPOSection as CMORLPPO
from morl.algorithms.morld.config import MORLDConfig
from morl.algorithms.morld.config import PPOSection as MORLDPPO

EPISODE_CAP = 500  # C-MORL caps every episode at 500 steps
EVAL_GAMMA = 0.99

CMORL_PPO = CMORLPPO(
    num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    normalize_returns=True, lr_schedule="linear", max_eval_steps=EPISODE_CAP, learning_rate=3e-4, gamma=0.995,
    gae_lambda=0.95, clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)

# name: (env id, T, T_init, reference point)
CMORL_TASKS: dict[str, tuple[str, int, int, tuple[float, ...]]] = {
    "hopper-2d": ("mo-hopper-2obj-v5", 1_500_000, 1_000_000, (-100.0, -100.0)),
    "hopper-3d": ("mo-hopper-v5", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0)),
    "ant-2d": ("mo-ant-2obj-v5", 1_500_000, 1_000_000, (-100.0, -100.0)),
    "ant-3d": ("mo-ant-v5", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0)),
    "humanoid-2d": ("mo-humanoid-v5", 1_500_000, 1_000_000, (-100.0, -100.0)),
}

# name: (env id, total env steps, reference point)
MORLD_TASKS: dict[str, tuple[str, int, tuple[float, ...]]] = {
    "halfcheetah": ("mo-halfcheetah-v5", 3_000_000, (-100.0, -100.0)),
    "hopper": ("mo-hopper-2obj-v5", 8_000_000, (-100.0, -100.0)),
}


def capped_id(env_id: str) -> str:
    """The experiment-local id of `env_id` with C-MORL's 500-step episodes (see run.py)."""
    return f"{env_id}@{EPISODE_CAP}"


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


def cmorl_config(task: str) -> CMORLConfig:
    env_id, total, init, ref = CMORL_TASKS[task]
    config = CMORLConfig(
        env=capped_id(env_id), total_steps=total, init_steps=init, ref_point=ref, eval_gamma=EVAL_GAMMA,
        num_policies=6, eval_interval=10, eval_episodes=1, ppo=CMORL_PPO,
    )
    return fit_extension(config, len(ref))


def morld_config(task: str) -> MORLDConfig:
    env_id, total, ref = MORLD_TASKS[task]
    return MORLDConfig(
        env=env_id, total_steps=total, ref_point=ref, eval_gamma=EVAL_GAMMA, pop_size=6, weight_init="uniform",
        scalarization="weighted_sum", eval_period=5, eval_episodes=1, max_eval_steps=1000, archive_capacity=64,
        ppo=MORLDPPO(num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, normalize_returns=True,
                     learning_rate=3e-4, gamma=0.995, ent_coef=0.0),
    )
