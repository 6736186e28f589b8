"""Multi-objective PPO as pure functions (vector critic, per-objective GAE, SER scalarisation).

The contract multi-policy algorithms (MORL/D, C-MORL) build on:

    learner = morl.agents.ppo.make(env, PPOConfig(...), scalarization=make_scalarization("weighted_sum"),
                                   shaping=identity(), policy_objective=scalarized_clipped_surrogate)
    state = learner.init(key, weights [m], hyper: PPOHyperparams | None)   # ONE member
    state, metrics = learner.update(state)      # one rollout (num_steps x num_envs) + epochs; pure, jittable
    pop = jax.vmap(learner.init)(keys [pop], weights [pop, m], hypers [pop])   # population = leading axis
    pop, metrics = jax.vmap(learner.update)(pop)
    result = learner.evaluate(key, state_or_params, weights, num_episodes)    # EvalResult, deterministic
    action = learner.act(params, obs, weights, key, deterministic)
    final, metrics = jax.jit(learner.make_train(num_updates))(key, weights)   # whole run in lax.scan
    g = learner.estimate_return(key, params, weights, shaping_state, hyper)  # [m] mean GAE target, fresh envs

`PPOConfig` is static (shapes, network, schedule kind); `PPOHyperparams` holds the
per-member numbers (learning rate, gamma, lambda, clip, coefficients) and vmaps.
`state.weights` and `state.ideal` may be replaced between updates (`state.replace(...)`).

Advantages: vector GAE `A [T, E, m]` on the shaped rewards; the policy-gradient signal is
`sum_k g_k A_k` with `g = scalarization.gradient(state.return_estimate, weights, ideal)`
(SER; weighted sum: `g = w`), normalised per minibatch inside the default objective.
`metrics` report the unshaped env returns of the episodes that ended in the rollout.

`PPOConfig(actor="pmoe" | "pmoe_gumbel", num_experts=K)` uses a probabilistic
mixture-of-experts actor on continuous actions (`morl.agents.ppo.pmoe`).
"""

from morl.agents.ppo.config import LR_SCHEDULES, PMOE_ACTORS, PPO_ACTORS, PPOConfig, PPOHyperparams, PPOSection
from morl.agents.ppo.losses import (
    Minibatch,
    PolicyAux,
    PolicyObjective,
    clipped_surrogate,
    ppo_loss,
    scalarized_clipped_surrogate,
    vector_gae,
)
from morl.agents.ppo.rollout import Transition
from morl.envs.evaluation import EvalResult
from morl.agents.ppo.train import PPO, PPOState, make

__all__ = [
    "LR_SCHEDULES",
    "PMOE_ACTORS",
    "PPO_ACTORS",
    "PPO",
    "EvalResult",
    "Minibatch",
    "PPOConfig",
    "PPOHyperparams",
    "PPOSection",
    "PPOState",
    "PolicyAux",
    "PolicyObjective",
    "Transition",
    "clipped_surrogate",
    "make",
    "ppo_loss",
    "scalarized_clipped_surrogate",
    "vector_gae",
]
