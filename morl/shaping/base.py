"""The reward-transform interface, `identity` and `chain`.

A transform is a pair of pure functions, in the spirit of optax's
`GradientTransformation(init, update)`:

    state = transform.init(reward_dim, batch_shape=())
    shaped, state = transform.apply(state, reward, context)

Shapes and batching (the one rule callers need)
- `reward` has shape `[*batch_shape, m]` (float), `m = reward_dim`. With `batch_shape=()`
  `apply` works on ONE env's reward `[m]`.
- Every field of `context` carries the same leading `batch_shape` as `reward`
  (`obs: [*batch_shape, ...]`, `done: [*batch_shape]`), except `discount`, a scalar.
- The output reward has exactly the input's shape and dtype (checked at trace time by
  `chain`/`checked`, naming the offending transform).
- **Running statistics are updated once per `apply` from all leading entries together**
  (a batched Welford merge), so a PPO rollout calls `apply` once per step with the
  rewards of all its envs `[num_envs, m]` and a state made by
  `init(m, batch_shape=(num_envs,))`. Per-stream buffers (a running discounted return,
  an episode-return accumulator) have shape `[*batch_shape, m]`; shared statistics
  (mean, variance, count, multipliers) have shape `[m]`. Do NOT `vmap` `apply` over
  envs when statistics should be shared: that would keep one set of statistics per env.
- **Population**: `vmap` over members (`init` per member, `apply` with `in_axes=0` on the
  state and the member's rewards). Every numeric parameter (thresholds, bounds, scales,
  references, potential parameters, learning rates) lives in the state, never in the
  closure, so members may differ: build the states with
  `jax.vmap(lambda th: lagrange(thresholds=th).init(m))(thresholds_per_member)` and use
  the `apply` of any instance built with the same static options.
- States are pytrees of arrays only (NamedTuples), so `jit`, `vmap`, `lax.scan` and
  checkpointing (orbax, or flatten/unflatten) work on them.
- Statistics and multipliers enter the output through `jax.lax.stop_gradient`; gradients
  flow only into the reward itself and into parameters meant to be learned through it
  (e.g. a potential's or an ensemble head's parameters).

`context.done` is "the episode ended here" (terminated or truncated): it resets per-stream
accumulators. `context.terminated` is the MDP's own end: it drops bootstrapping terms
(potential shaping). On auto-reset envs pass the *final* observation of the finished
episode as `next_obs` (`info["final_obs"]`), not the reset observation.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class ShapingContext(NamedTuple):
    """What a transform may read besides the reward. Leading axes match the reward's
    batch axes: `obs, next_obs: [*batch, ...obs_shape]`, `done, terminated: [*batch]` bool;
    `discount` is the learner's gamma, a scalar."""

    obs: jax.Array
    next_obs: jax.Array
    discount: jax.Array
    done: jax.Array
    terminated: jax.Array


class RewardTransform(NamedTuple):
    """`init(reward_dim, batch_shape=()) -> state`; `apply(state, reward, context) ->
    (reward, state)`. `name` appears in error messages."""

    init: Callable[..., Any]
    apply: Callable[[Any, jax.Array, ShapingContext], tuple[jax.Array, Any]]
    name: str = "transform"


class EmptyState(NamedTuple):
    """State of a stateless transform."""


def identity() -> RewardTransform:
    """Returns the reward unchanged."""

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> EmptyState:
        del reward_dim, batch_shape
        return EmptyState()

    def apply(state, reward, context):
        del context
        return reward, state

    return RewardTransform(init, apply, "identity")


def checked(transform: RewardTransform) -> RewardTransform:
    """The same transform, failing at trace time (naming it) if its output reward's shape
    or dtype differs from the input's, or its state changes structure, shape or dtype."""

    def apply(state, reward, context):
        reward = jnp.asarray(reward)
        out, new_state = transform.apply(state, reward, context)
        out = jnp.asarray(out)
        if out.shape != reward.shape or out.dtype != reward.dtype:
            raise TypeError(
                f"reward transform '{transform.name}' returned a reward of shape {out.shape} dtype {out.dtype}, "
                f"expected shape {reward.shape} dtype {reward.dtype} (same as its input)"
            )
        _check_state(transform.name, state, new_state)
        return out, new_state

    return RewardTransform(transform.init, apply, transform.name)


def chain(*transforms: RewardTransform) -> RewardTransform:
    """Applies `transforms` in order; the state is the tuple of their states. Every step
    is `checked`, so a transform that changes the reward's shape or dtype fails at trace
    time with its name."""
    for position, transform in enumerate(transforms):
        if not isinstance(transform, RewardTransform):
            raise TypeError(f"chain: argument {position} is {type(transform).__name__}, expected a RewardTransform")
    steps = [checked(t) for t in transforms]

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> tuple:
        if not isinstance(reward_dim, (int, np.integer)) or isinstance(reward_dim, bool) or reward_dim < 1:
            raise ValueError(f"reward_dim must be a positive int, got {reward_dim!r}")
        return tuple(t.init(int(reward_dim), tuple(batch_shape)) for t in steps)

    def apply(state, reward, context):
        new_states = []
        for transform, sub_state in zip(steps, state):
            reward, sub_state = transform.apply(sub_state, reward, context)
            new_states.append(sub_state)
        return reward, tuple(new_states)

    name = "chain(" + ", ".join(t.name for t in transforms) + ")"
    return RewardTransform(init, apply, name)


def _check_state(name: str, old: Any, new: Any) -> None:
    old_def, new_def = jax.tree_util.tree_structure(old), jax.tree_util.tree_structure(new)
    if old_def != new_def:
        raise TypeError(f"reward transform '{name}' changed its state structure from {old_def} to {new_def}")
    for a, b in zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(new)):
        if jnp.shape(a) != jnp.shape(b) or jnp.result_type(a) != jnp.result_type(b):
            raise TypeError(
                f"reward transform '{name}' changed a state leaf from shape {jnp.shape(a)} dtype {jnp.result_type(a)} "
                f"to shape {jnp.shape(b)} dtype {jnp.result_type(b)} (was the state made with "
                f"init(reward_dim, batch_shape=reward.shape[:-1])?)"
            )


def batch_shape_of(reward: jax.Array) -> tuple[int, ...]:
    """The leading batch axes of a `[*batch, m]` reward."""
    return tuple(reward.shape[:-1])


def per_entry(fn: Callable[..., jax.Array], batch_ndim: int) -> Callable[..., jax.Array]:
    """`fn` written for one entry, mapped over `batch_ndim` leading axes of every argument."""
    for _ in range(batch_ndim):
        fn = jax.vmap(fn)
    return fn


def is_concrete(value: Any) -> bool:
    """False for tracers (a constructor called under `vmap`/`jit`), so validation of
    parameter values runs only where they are known."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def per_objective(transform_name: str, arg_name: str, value: Any, reward_dim: int) -> jax.Array:
    """`value` (a scalar or `[m]`) as a float32 `[m]` array; a one-line error otherwise."""
    array = jnp.asarray(value, jnp.float32)
    if array.shape not in ((), (reward_dim,)):
        raise ValueError(
            f"{transform_name}: {arg_name} has shape {array.shape}, expected () or ({reward_dim},) for {reward_dim} objectives"
        )
    return jnp.broadcast_to(array, (reward_dim,))
