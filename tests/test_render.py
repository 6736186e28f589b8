"""`morl.io.render`: a policy replayed in MO-Gymnasium's own env and written as a GIF."""

from __future__ import annotations

import ctypes.util

import imageio.v2 as imageio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.io.render import RenderError, choose_gl_backend, render_policy


def test_deep_sea_treasure_policy_is_drawn_frame_by_frame(tmp_path):
    choose_gl_backend()
    down = lambda obs, key: jnp.int32(1)  # noqa: E731  (straight down: the first treasure, 0.7, in one step)
    path, total, steps = render_policy("deep-sea-treasure-v0", {}, down, tmp_path / "dst.gif", max_steps=20)
    frames = imageio.mimread(path)
    assert steps == 1 and len(frames) == steps + 1
    np.testing.assert_allclose(total, [0.7, -1.0], rtol=1e-6)
    assert frames[0].ndim == 3 and not np.array_equal(frames[0], frames[-1])


@pytest.mark.skipif(ctypes.util.find_library("OSMesa") is None, reason="no OSMesa: apt-get install libosmesa6")
def test_mujoco_policy_is_drawn_offscreen(tmp_path):
    choose_gl_backend()
    still = lambda obs, key: jnp.zeros(3, jnp.float32)  # noqa: E731
    path, _, steps = render_policy("mo-hopper-2d-v4", {}, still, tmp_path / "hopper.gif", max_steps=5)
    assert len(imageio.mimread(path)) == steps + 1 == 6


def test_an_env_mo_gymnasium_lacks_cannot_be_drawn(tmp_path):
    with pytest.raises(RenderError, match="no MO-Gymnasium counterpart"):
        render_policy("mo-pendulum-v0", {}, lambda obs, key: obs, tmp_path / "x.gif")


def test_morl_render_draws_an_archive_member_of_a_run(tmp_path, capsys):
    from morl import cli

    run = tmp_path / "run"
    tiny = ["--steps", "2000", "--set", "pop_size=2", "--set", "ppo.num_envs=2", "--set", "ppo.num_steps=16",
            "--set", "ppo.hidden_sizes=16", "--set", "chunk_iterations=2", "--set", "eval_period=1"]
    assert cli.main(["train", "morld", "--env", "deep-sea-treasure-v0", "--no-progress", "--out", str(run), *tiny]) == 0
    member = int(np.loadtxt(run / "front.csv", delimiter=",", skiprows=1, ndmin=2)[0, 2])
    assert cli.main(["render", str(run), "--point", str(member), "--steps", "30"]) == 0
    frames = imageio.mimread(run / f"member{member}_run0.gif")
    assert 2 <= len(frames) <= 31
    assert cli.main(["render", str(run), "--point", "999"]) == 2
    assert "not an archive member" in capsys.readouterr().err


def _right_then_down(obs, steps_taken):
    return jnp.where(steps_taken < 1, 3, 1).astype(jnp.int32)


def _count_step(steps_taken, reward):
    return steps_taken + 1


def test_a_memory_policy_is_drawn_with_its_memory_carried(tmp_path):
    """One step right, then down (the memory counts steps): the 8.2 treasure, 3 steps deep.
    Without the memory carried the policy would walk right forever."""
    from morl.envs.evaluation import MemoryPolicy

    policy = MemoryPolicy(
        act=jax.tree_util.Partial(_right_then_down), remember=jax.tree_util.Partial(_count_step), memory=jnp.int32(0)
    )
    path, total, steps = render_policy("deep-sea-treasure-v0", {}, policy, tmp_path / "dst.gif", max_steps=20)
    assert steps == 3 and len(imageio.mimread(path)) == 4
    np.testing.assert_allclose(total, [8.2, -3.0], rtol=1e-6)
