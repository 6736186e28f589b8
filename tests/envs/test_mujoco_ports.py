"""The MJX locomotion ports against MO-Gymnasium's MuJoCo C originals.

From identical states (qpos, qvel set on both sides, zero solver warm start) and
identical actions, one step's reward vector, termination and next observation agree;
over short rollouts from a shared start, returns agree. States are the ones a random
policy visits in the original (physically plausible, contacts included).

MJX runs float32, MuJoCo C float64: the tolerances below are measured, stated in
docs/mujoco.md. The default run checks a few states per env; `-m slow` runs many.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import mujoco
import numpy as np
import pytest
from mujoco import mjx

from morl.envs import registry
from morl.envs.mujoco import ENVS

# Reward vectors: |ours - theirs| <= REWARD_RTOL * max(|theirs|, 1) (the floor is 1e-4 relative).
REWARD_RTOL = 1e-4


def visited_states(env_id: str, num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`num` (qpos, qvel) pairs a uniformly random policy visits in MO-Gymnasium's env."""
    ref = mo_gym.make(env_id)
    ref.action_space.seed(seed)
    rng = np.random.default_rng(seed)
    qpos, qvel = [], []
    episode = 0
    ref.reset(seed=seed)
    while len(qpos) < num:
        for _ in range(int(rng.integers(0, 40))):
            _, _, term, trunc, _ = ref.step(ref.action_space.sample())
            if term or trunc:
                episode += 1
                ref.reset(seed=seed + episode)
        qpos.append(ref.unwrapped.data.qpos.copy())
        qvel.append(ref.unwrapped.data.qvel.copy())
    return np.array(qpos), np.array(qvel)


def reference_steps(env_id: str, qpos: np.ndarray, qvel: np.ndarray, actions: np.ndarray, solver=None):
    """MO-Gymnasium's `(obs, reward, terminated)` of one step from each state; `solver`
    (a `mujoco.mjtSolver`) replaces the XML's constraint solver when given."""
    ref = mo_gym.make(env_id).unwrapped
    if solver is not None:
        ref.model.opt.solver = solver
    ref.reset(seed=0)
    out = []
    for q, v, a in zip(qpos, qvel, actions):
        ref.set_state(q, v)
        ref.data.qacc_warmstart[:] = 0.0
        obs, reward, term, _, _ = ref.step(a)
        out.append((obs, reward, term))
    obs, reward, term = map(np.array, zip(*out))
    return obs, reward, term


def port_steps(env, qpos, qvel, actions):
    state = jax.jit(jax.vmap(env.state_from))(jnp.asarray(qpos), jnp.asarray(qvel))
    step = jax.jit(jax.vmap(lambda s, a: env.step(jax.random.key(0), s, a)))
    obs, _, reward, term, _, _ = step(state, jnp.asarray(actions, jnp.float32))
    return np.asarray(obs), np.asarray(reward), np.asarray(term)


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    return np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)


# Observations: |ours - theirs| <= OBS_RTOL * max(|theirs|, 1); joint velocities carry the
# float32 error of 5 physics steps through contacts (measured max 2e-3 on mo-halfcheetah).
OBS_RTOL = 1e-2
# Undiscounted returns of 4 random-action rollouts of ROLLOUT_STEPS steps from a shared start.
# Locomotion is chaotic: MuJoCo C itself, started 1e-6 away, drifts ~1e-3 in qpos within 20
# steps and ~0.1 within 50 (docs/mujoco.md), so rollouts are kept short.
RETURN_RTOL = 1e-2
ROLLOUT_STEPS = 20
BATCH = 4

# The default run checks mo-halfcheetah (one MJX compile, ~30 s of CPU); the other ports
# compile for 1-3 minutes each on a CPU and run with `-m slow`.
PORTS = [pytest.param(env_id, marks=() if env_id == "mo-halfcheetah-v5" else pytest.mark.slow) for env_id in ENVS]

_compiled: dict[tuple[str, int], tuple] = {}


def compiled(env_id: str, batch: int):
    """`(env, state_from, step)` of `env_id`, vmapped over `batch` and jitted once per test session."""
    if (env_id, batch) not in _compiled:
        env = registry.make(env_id)
        state_from = jax.jit(jax.vmap(env.state_from))
        step = jax.jit(jax.vmap(lambda s, a: env.step(jax.random.key(0), s, a)))
        _compiled[env_id, batch] = env, state_from, step
    return _compiled[env_id, batch]


def random_actions(env, num: int, seed: int) -> np.ndarray:
    space = env.action_space()
    return np.random.default_rng(seed).uniform(space.low, space.high, (num, *space.shape)).astype(np.float32)


def check_one_step(env_id: str, num_states: int, seed: int) -> None:
    env, state_from, step = compiled(env_id, num_states)
    qpos, qvel = visited_states(env_id, num_states, seed)
    actions = random_actions(env, num_states, seed)
    # The humanoid port solves with Newton (MJX has no PGS): compare with MuJoCo C on Newton too.
    solver = env.mj_model.opt.solver if env.solver is not None else None
    ref_obs, ref_reward, ref_term = reference_steps(env_id, qpos, qvel, actions, solver)
    obs, _, reward, term, _, _ = step(state_from(jnp.asarray(qpos), jnp.asarray(qvel)), jnp.asarray(actions))
    reward_err = relative_error(np.asarray(reward), ref_reward)
    assert reward_err.max() <= REWARD_RTOL, f"{env_id}: reward relative error per objective {reward_err.max(0)}"
    obs_err = relative_error(np.asarray(obs), ref_obs)
    worst = np.argsort(obs_err.max(0))[-3:]
    assert obs_err.max() <= OBS_RTOL, f"{env_id}: observation relative error {obs_err.max():.2e} at dims {worst}"
    np.testing.assert_array_equal(np.asarray(term), ref_term, err_msg=f"{env_id}: terminated differs")


@pytest.mark.parametrize("env_id", PORTS)
def test_one_step_matches_mo_gymnasium(env_id):
    check_one_step(env_id, BATCH, seed=0)


# Float32 arithmetic through ant's contacts (docs/mujoco.md): of these 256 states, 2 exceed
# the reward floor (max 2.3e-4 relative, y velocity: 1.2e-5 m of torso displacement in one
# env step), 9 exceed 1e-5, and clipped contact forces in the observation differ by up to
# 0.1; in float64 the same states agree to 2.5e-7 (test_ant_one_step_in_float64).
_ANT_FLOAT32 = pytest.mark.xfail(
    strict=True, reason="float32: 2 of 256 ant states above the 1e-4 reward floor (2.3e-4); float64 agrees to 2.5e-7"
)
# The same for humanoid at one state of 256 (2.3e-4; next worst 4.5e-5); the same steps in
# float64 (physics steps unrolled: x64 breaks the fori_loop on tendon models) agree to 4.7e-7.
_HUMANOID_FLOAT32 = pytest.mark.xfail(
    strict=True, reason="float32: 1 of 256 humanoid states above the 1e-4 reward floor (2.3e-4); float64 4.7e-7"
)
_FLOAT32_OUTLIERS = {"mo-ant-v5": _ANT_FLOAT32, "mo-ant-2obj-v5": _ANT_FLOAT32, "mo-humanoid-v5": _HUMANOID_FLOAT32}
MANY_STATES = [
    pytest.param(env_id, marks=(pytest.mark.slow, *([_FLOAT32_OUTLIERS[env_id]] if env_id in _FLOAT32_OUTLIERS else [])))
    for env_id in ENVS
]


@pytest.mark.parametrize("env_id", MANY_STATES)
def test_one_step_matches_mo_gymnasium_many_states(env_id):
    check_one_step(env_id, 256, seed=1)


@pytest.mark.slow
def test_ant_one_step_in_float64():
    """mo-ant-v5's physics against MuJoCo C without float32 rounding (the states of the
    many-states test): reward, observation and termination agree to float64 precision
    (measured 2.5e-7 reward, 6e-8 observation: the float32 action's control cost)."""
    env_id = "mo-ant-v5"
    with jax.enable_x64(True):
        env = registry.make(env_id)
        qpos, qvel = visited_states(env_id, 256, seed=1)
        actions = random_actions(env, 256, seed=1)
        ref_obs, ref_reward, ref_term = reference_steps(env_id, qpos, qvel, actions)
        state = jax.jit(jax.vmap(env.state_from))(jnp.asarray(qpos), jnp.asarray(qvel))
        assert state.data.qpos.dtype == jnp.float64
        step = jax.jit(jax.vmap(lambda s, a: env.step(jax.random.key(0), s, a)))
        obs, _, reward, term, _, _ = step(state, jnp.asarray(actions))
    assert relative_error(np.asarray(reward), ref_reward).max() <= 1e-6
    assert relative_error(np.asarray(obs), ref_obs).max() <= 1e-6
    np.testing.assert_array_equal(np.asarray(term), ref_term)


@pytest.mark.parametrize("env_id", PORTS)
def test_rollout_returns_match_mo_gymnasium(env_id):
    env, state_from, step = compiled(env_id, BATCH)
    refs = [mo_gym.make(env_id) for _ in range(BATCH)]
    if env.solver is not None:
        for ref in refs:
            ref.unwrapped.model.opt.solver = env.mj_model.opt.solver
    for seed, ref in enumerate(refs):
        ref.reset(seed=seed)
    qpos = np.array([ref.unwrapped.data.qpos for ref in refs])
    qvel = np.array([ref.unwrapped.data.qvel for ref in refs])
    state = state_from(jnp.asarray(qpos), jnp.asarray(qvel))
    ref_returns = np.zeros((BATCH, env.reward_dim))
    returns = np.zeros((BATCH, env.reward_dim))
    alive = np.ones(BATCH, bool)
    for t in range(ROLLOUT_STEPS):
        actions = random_actions(env, BATCH, seed=t)
        _, state, reward, term, _, _ = step(state, jnp.asarray(actions))
        returns += alive[:, None] * np.asarray(reward)
        for i, ref in enumerate(refs):
            if alive[i]:
                _, ref_reward, ref_term, _, _ = ref.step(actions[i])
                ref_returns[i] += ref_reward
                assert bool(term[i]) == ref_term, f"{env_id}: rollout {i} terminated differently at step {t}"
                alive[i] = not ref_term
    err = relative_error(returns, ref_returns)
    print(f"{env_id}: return relative error {err.max(0)}")
    assert err.max() <= RETURN_RTOL, f"{env_id}: return error {err.max():.2e}: ours {returns}, theirs {ref_returns}"


@pytest.mark.parametrize("env_id", list(ENVS))
def test_spaces_match_mo_gymnasium(env_id):
    env = registry.make(env_id)
    ref = mo_gym.make(env_id)
    assert env.observation_space().shape == ref.observation_space.shape
    np.testing.assert_array_equal(env.action_space().low, ref.action_space.low)
    np.testing.assert_array_equal(env.action_space().high, ref.action_space.high)
    assert env.reward_dim == ref.unwrapped.reward_dim
    assert env.dt == pytest.approx(ref.unwrapped.dt)
    assert int(env.default_params.max_steps) == ref.spec.max_episode_steps


@pytest.mark.parametrize("env_id", PORTS)
def test_reset_matches_gymnasium_noise_and_observation(env_id):
    env = registry.make(env_id)
    ref = mo_gym.make(env_id).unwrapped
    ref.reset(seed=0)
    obs, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), 512))
    qpos, qvel = np.asarray(state.data.qpos), np.asarray(state.data.qvel)
    scale = ref._reset_noise_scale
    pos_noise, vel_noise = qpos - ref.init_qpos, qvel - ref.init_qvel
    assert np.abs(pos_noise).max() <= scale + 1e-6  # float32 rounding
    np.testing.assert_allclose(pos_noise.std(), scale / np.sqrt(3), rtol=0.1)  # U(-s, s)
    # gymnasium draws qvel noise as s * N(0, 1) for half_cheetah and ant, U(-s, s) otherwise.
    normal = "* self.np_random.standard_normal(self.model.nv)" in _reset_source(ref)
    np.testing.assert_allclose(vel_noise.std(), scale if normal else scale / np.sqrt(3), rtol=0.1)
    for i in range(3):
        ref.set_state(qpos[i].astype(np.float64), qvel[i].astype(np.float64))
        np.testing.assert_allclose(np.asarray(obs[i]), ref._get_obs(), rtol=1e-5, atol=1e-5)


def _reset_source(ref) -> str:
    import inspect

    return inspect.getsource(type(ref).reset_model)


@pytest.mark.parametrize("env_id", PORTS)
def test_time_limit_truncates_at_max_steps(env_id):
    env, state_from, step = compiled(env_id, BATCH)
    standing = jnp.tile(jnp.asarray(env.init_qpos), (BATCH, 1)), jnp.tile(jnp.asarray(env.init_qvel), (BATCH, 1))
    state = state_from(*standing)
    limit = mo_gym.make(env_id).spec.max_episode_steps
    state = state.replace(time=jnp.array([limit - 2, limit - 1, 0, 5], jnp.int32))
    _, _, _, term, trunc, _ = step(state, jnp.zeros((BATCH, *env.action_space().shape)))
    np.testing.assert_array_equal(np.asarray(trunc), [False, True, False, False])
    assert not np.asarray(term).any()  # the standing start is healthy


# A qpos entry set outside gymnasium's healthy range, far enough to stay there for a step:
# hopper/walker torso angle, ant height above 1, humanoid height below 1.
UNHEALTHY = {
    "mo-hopper-v5": (2, 0.5),
    "mo-hopper-2obj-v5": (2, 0.5),
    "mo-walker2d-v5": (2, 1.5),
    "mo-ant-v5": (2, 1.5),
    "mo-ant-2obj-v5": (2, 1.5),
    "mo-humanoid-v5": (2, 0.5),
}


@pytest.mark.parametrize("env_id", list(ENVS))
def test_task_matches_mo_gymnasium_on_mujoco_c_physics(env_id):
    """The task layer alone (reward vector, observation, healthy rule), fed MuJoCo C's own
    data before and after MO-Gymnasium's step (`mjx.put_data`): no physics difference, so
    agreement is to float32 rounding. Includes a fallen state for tasks that terminate."""
    env = registry.make(env_id)
    ref = mo_gym.make(env_id).unwrapped
    ref.reset(seed=0)
    qpos, qvel = visited_states(env_id, 12, seed=3)
    if env_id in UNHEALTHY:
        fallen = qpos[0].copy()
        index, value = UNHEALTHY[env_id]
        fallen[index] = value
        qpos, qvel = np.vstack([qpos, fallen]), np.vstack([qvel, qvel[0]])
    actions = random_actions(env, len(qpos), seed=3)
    task = jax.jit(lambda before, after, a: (env._reward(before, after, a), env._obs(after), env._healthy(after)))
    terminated = []
    for q, v, a in zip(qpos, qvel, actions):
        ref.set_state(q, v)
        before = mjx.put_data(ref.model, ref.data)
        ref_obs, ref_reward, ref_term, _, _ = ref.step(a)
        after = mjx.put_data(ref.model, ref.data)
        reward, obs, healthy = task(before, after, jnp.asarray(a))
        error = relative_error(np.asarray(reward), ref_reward).max()
        assert error <= 1e-5, f"{env_id}: reward {reward} vs {ref_reward}"
        np.testing.assert_allclose(np.asarray(obs), ref_obs, rtol=1e-6, atol=1e-6)
        assert (not bool(healthy)) == ref_term
        terminated.append(ref_term)
    if len(qpos) > 12:
        assert terminated[-1], f"{env_id}: the fallen state should terminate"


# Tasks with capsules on the floor in the visited states (seed 0), and whether some are
# steeper than 60 degrees there (the case where mujoco-mjx's own frame differs).
CAPSULE_ON_PLANE = {"mo-ant-v5": True, "mo-halfcheetah-v5": True, "mo-hopper-v5": False, "mo-walker2d-v5": False}


@pytest.mark.parametrize("env_id", list(CAPSULE_ON_PLANE))
def test_plane_capsule_contact_frames_match_mujoco_c(env_id):
    """The port's collision (`plane_capsule_frames_as_mujoco_c`) on MuJoCo C's kinematics gives
    MuJoCo C's contact frames, steep capsules included (mujoco-mjx alone does not: it
    rotates the tangent basis of capsules steeper than 60 degrees, docs/mujoco.md)."""
    from morl.envs.mujoco.base import plane_capsule_frames_as_mujoco_c

    ref = mo_gym.make(env_id).unwrapped
    mx = registry.make(env_id).mjx_model
    collide = jax.jit(lambda d: plane_capsule_frames_as_mujoco_c(mx, d)._impl.contact)
    qpos, qvel = visited_states(env_id, 16, seed=0)
    plane, capsule = int(mujoco.mjtGeom.mjGEOM_PLANE), int(mujoco.mjtGeom.mjGEOM_CAPSULE)
    compared = steep = 0
    for q, v in zip(qpos, qvel):
        ref.set_state(q, v)  # runs mj_forward: MuJoCo C's contacts of this state
        contact = collide(mjx.put_data(ref.model, ref.data))
        geom, pos, frame = (np.asarray(x) for x in (contact.geom, contact.pos, contact.frame))
        ref_contact = ref.data.contact
        for geom_c, pos_c, frame_c in zip(ref_contact.geom, ref_contact.pos, ref_contact.frame.reshape(-1, 3, 3)):
            if ref.model.geom_type[geom_c[0]] != plane or ref.model.geom_type[geom_c[1]] != capsule:
                continue
            candidates = np.flatnonzero((geom == geom_c).all(1))
            i = candidates[np.argmin(np.abs(pos[candidates] - pos_c).sum(1))]
            np.testing.assert_allclose(pos[i], pos_c, atol=1e-5)
            np.testing.assert_allclose(frame[i], frame_c, atol=1e-5, err_msg=f"{env_id}: contact {geom_c}")
            compared += 1
            axis = ref.data.geom_xmat[geom_c[1]][[2, 5, 8]]
            steep += abs(axis @ frame_c[0]) > np.sin(np.pi / 3)
    assert compared > 0, f"{env_id}: no plane-capsule contact in the visited states"
    assert steep > 0 or not CAPSULE_ON_PLANE[env_id], f"{env_id}: no steep capsule on the floor to check"
    print(f"{env_id}: {compared} plane-capsule contacts compared, {steep} with the capsule steeper than 60 degrees")
