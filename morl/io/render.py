"""A policy acting, as an animation: replay a deterministic policy in MO-Gymnasium's own
env (`render_mode="rgb_array"`) and write the frames as a GIF.

    choose_gl_backend()                       # before anything imports mujoco
    path = render_policy("mo-hopper-2d-v4", {}, act, "hopper.gif", max_steps=300)

MuJoCo envs draw through MuJoCo's offscreen renderer, which needs an OpenGL backend:
`choose_gl_backend` picks OSMesa (software; Debian's `libosmesa6`) when its library is
installed and EGL otherwise, unless `MUJOCO_GL` is already set. Grid worlds and Box2D
envs draw with pygame and need no GL. JAX ports are replayed in the MO-Gymnasium env of
the same id (their observations are the same); an env MO-Gymnasium does not have
cannot be drawn, and the error says so in one line.
"""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np


class RenderError(RuntimeError):
    """Why a policy cannot be drawn here, in one line."""


def choose_gl_backend() -> str:
    """Set `MUJOCO_GL` (and `PYOPENGL_PLATFORM`) for offscreen rendering unless already
    set; returns the backend. Call before `mujoco` is first imported."""
    backend = os.environ.get("MUJOCO_GL")
    if backend is None:
        backend = "osmesa" if ctypes.util.find_library("OSMesa") else "egl"
        os.environ["MUJOCO_GL"] = backend
    os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame without a display or sound card
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    return backend


def render_policy(
    env_id: str,
    env_kwargs: dict[str, Any],
    act: Callable[[Any, Any], Any],
    out: str | Path,
    *,
    seed: int = 0,
    max_steps: int = 500,
    fps: int = 30,
) -> tuple[Path, np.ndarray, int]:
    """Run `act(obs, key) -> action` (deterministic), or a `morl.envs.evaluation.MemoryPolicy`
    (its memory updated with every reward), for one episode of at most `max_steps` steps
    from `reset(seed=seed)` in MO-Gymnasium's `env_id` and write the frames to `out` (GIF).
    Returns `(path, undiscounted return [m], steps)`."""
    import gymnasium
    import imageio.v2 as imageio
    import jax
    import jax.numpy as jnp

    from morl.envs.defaults import base_id
    from morl.envs.evaluation import MemoryPolicy
    from morl.envs.host.pool import make_gymnasium

    env_id = base_id(env_id)
    if env_id not in gymnasium.registry:
        import mo_gymnasium  # noqa: F401  (registers the MO-Gymnasium ids)
    if env_id not in gymnasium.registry:
        raise RenderError(f"{env_id} has no MO-Gymnasium counterpart to draw it with")
    try:
        env = make_gymnasium(env_id, render_mode="rgb_array", **env_kwargs)
        obs, _ = env.reset(seed=seed)
        frames = [env.render()]
    except Exception as err:  # GL or pygame missing: say which, in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RenderError(
            f"cannot draw {env_id} here ({type(err).__name__}: {first}); MuJoCo needs an OpenGL backend, "
            "e.g. `apt-get install libosmesa6` (then MUJOCO_GL=osmesa) or a GPU with EGL"
        ) from None
    if isinstance(act, MemoryPolicy):
        policy, remember, memory = jax.jit(act.act), jax.jit(act.remember), act.memory
    else:
        policy, remember, memory = jax.jit(act), None, None
    total = np.zeros(env.unwrapped.reward_space.shape, np.float64)
    key = jax.random.key(seed)
    steps = 0
    for steps in range(1, max_steps + 1):
        key, sub = jax.random.split(key)
        action = np.asarray(policy(jnp.asarray(obs, jnp.float32), sub if remember is None else memory))
        obs, reward, terminated, truncated, _ = env.step(action if action.ndim else action.item())
        if remember is not None:
            memory = remember(memory, jnp.asarray(reward, jnp.float32))
        total += reward
        frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    imageio.mimsave(tmp, [np.asarray(f, np.uint8) for f in frames], format="GIF", duration=1000 / fps, loop=0)
    os.replace(tmp, out)
    return out, total, steps
