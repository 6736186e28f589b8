"""The environment contract: pure, jittable `reset` / `step` over pytree state and params.

Gymnax style. An environment object holds only static structure (sizes, maps); everything
that changes or may vary between vmapped copies lives in `state` and `params` pytrees.

Conventions
- `reward` is a float32 vector of shape `(env.reward_dim,)`; every objective is maximised.
- `step` does **not** reset at episode end; wrap with `morl.envs.wrappers.AutoReset`
  for training loops.
- `truncated` is the time limit (`params.max_steps`); `terminated` is the MDP's own end.
- `info` is a dict of arrays with a structure that does not depend on the input.

Subclasses implement `reset_env`, `step_env`, `default_params`, `observation_space`,
`action_space`, `reward_dim` and optionally `pareto_front`. The public `reset`/`step`
validate shapes and dtypes at trace time (once per compile) and name what is wrong.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from morl.envs import spaces

TEnvState = TypeVar("TEnvState")
TEnvParams = TypeVar("TEnvParams")

StepResult = tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]


class Environment(Generic[TEnvState, TEnvParams]):
    """Base class of every JAX-native multi-objective environment."""

    #: Registered id (set by `morl.envs.make`), used in error messages.
    id: str = ""

    #: True when `step` itself starts a new episode at episode end (host simulators);
    #: `AutoReset` then passes through.
    resets_itself: bool = False

    # --- to implement -------------------------------------------------------------
    @property
    def default_params(self) -> TEnvParams:
        raise NotImplementedError

    @property
    def reward_dim(self) -> int:
        raise NotImplementedError

    def reset_env(self, key: jax.Array, params: TEnvParams) -> tuple[jax.Array, TEnvState]:
        raise NotImplementedError

    def step_env(
        self, key: jax.Array, state: TEnvState, action: jax.Array, params: TEnvParams
    ) -> StepResult:
        raise NotImplementedError

    def observation_space(self, params: TEnvParams | None = None) -> spaces.Space:
        raise NotImplementedError

    def action_space(self, params: TEnvParams | None = None) -> spaces.Space:
        raise NotImplementedError

    def pareto_front(self, gamma: float = 1.0) -> np.ndarray:
        """The true Pareto front `[n, reward_dim]` (maximisation), where one is known."""
        raise NotImplementedError(f"{self.name} has no known Pareto front")

    # --- public API -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.id or type(self).__name__

    @property
    def has_pareto_front(self) -> bool:
        return type(self).pareto_front is not Environment.pareto_front

    def reset(self, key: jax.Array, params: TEnvParams | None = None) -> tuple[jax.Array, TEnvState]:
        """`(obs, state)` of a fresh episode."""
        params = self._checked_params(params)
        return self.reset_env(key, params)

    def step(
        self, key: jax.Array, state: TEnvState, action: Any, params: TEnvParams | None = None
    ) -> StepResult:
        """`(obs, state, reward[m], terminated, truncated, info)`; no automatic reset."""
        params = self._checked_params(params)
        action = self._checked_action(action)
        obs, state, reward, terminated, truncated, info = self.step_env(key, state, action, params)
        return obs, state, reward.astype(jnp.float32), terminated, truncated, info

    # --- validation (runs at trace time: shapes and dtypes are static) ---------------
    def _checked_params(self, params: TEnvParams | None) -> TEnvParams:
        default = self.default_params
        if params is None:
            return default
        expected = jax.tree_util.tree_structure(default)
        got = jax.tree_util.tree_structure(params)
        if expected != got:
            raise TypeError(f"{self.name}: params have structure {got}, expected {expected}")
        names = _leaf_names(default)
        for name, want, have in zip(names, jax.tree_util.tree_leaves(default), jax.tree_util.tree_leaves(params)):
            if jnp.shape(want) != jnp.shape(have):
                raise ValueError(
                    f"{self.name}: params field '{name}' has shape {jnp.shape(have)}, expected {jnp.shape(want)}"
                )
        return params

    def _checked_action(self, action: Any) -> jax.Array:
        space = self.action_space()
        action = jnp.asarray(action)
        if action.shape != tuple(space.shape):
            raise ValueError(
                f"{self.name}: action has shape {action.shape}, expected {tuple(space.shape)} "
                f"(for a batch of envs use morl.envs.wrappers.VmapEnv)"
            )
        want_int = isinstance(space, (spaces.Discrete, spaces.MultiBinary))
        if want_int and not jnp.issubdtype(action.dtype, jnp.integer):
            raise TypeError(f"{self.name}: action has dtype {action.dtype}, expected an integer dtype")
        if not want_int and not jnp.issubdtype(action.dtype, jnp.floating):
            raise TypeError(f"{self.name}: action has dtype {action.dtype}, expected a floating dtype")
        return action.astype(space.dtype)


def _leaf_names(tree: Any) -> list[str]:
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [jax.tree_util.keystr(path).lstrip(".") for path, _ in paths]
