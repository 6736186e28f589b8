"""Minecart (Abels et al. 2019), a port of MO-Gymnasium's `minecart-v0` and
`minecart-deterministic-v0` (vector observations; image observations are not ported).

A cart starts at the base in the top-left corner of the unit square, facing 45 degrees,
and must bring ore back from five mines while spending little fuel. Actions: 0 mine,
1 turn left, 2 turn right, 3 accelerate, 4 brake, 5 nothing; each is repeated for
`frame_skip` (4) frames. Mining works only when the cart stands still (speed < 0.001)
within 0.14 of a mine: each frame it adds `max(0, N(mean, std))` of each ore (the
nearest mine's distributions), scaled down to the remaining capacity (1.5). The episode
ends when the cart, having left the base, returns within 0.15 of it; the ore it carries
is then paid out. Reward `[ore_1, ..., ore_k, fuel]`: ore delivered this step, and the
fuel spent (-0.005 per frame, -0.025 more when accelerating, -0.05 more when mining).
Walls clip the position; hitting one at an angle turns the cart by 10 degrees.

Observation: float32 `[x, y, speed, sin(angle), cos(angle), content / capacity]`
(`5 + ore_cnt` values). Time limit 1000 steps, as MO-Gymnasium registers it.

Precision and randomness: MO-Gymnasium computes in float64, this port in float32; the
tests match observations and rewards to 1e-5. MO-Gymnasium draws ore from scipy with
numpy's global random state, which no seed controls; here the draws of one step are
`mean + std * jax.random.normal(key, (frame_skip, ore_cnt))` (row `f` for the `f`-th
mining attempt of the step) with the `key` passed to `step`. The deterministic config
(std 0) needs no draw and is compared exactly step by step; for the stochastic one the
tests force MO-Gymnasium's draws to these same normals, and compare the ore amounts
statistically with MO-Gymnasium's own draws.

`pareto_front(gamma)` reproduces MO-Gymnasium's approximate front: the discounted returns
of its enumerated "turn, drive, brake, turn around, mine, drive back" action sequences,
filtered to the non-dominated ones (it uses the truncated-normal mean as the ore yield).
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment

EPS_SPEED = 0.001  # below this speed the cart stands still (and can mine)
ROTATION = 10  # degrees per frame of turning
MAX_SPEED = 1.0
ACCELERATION = 0.0075
DECELERATION = 1.0
MINE_RADIUS = 0.14
BASE_RADIUS = 0.15
FUEL_MINE, FUEL_ACC, FUEL_IDLE = -0.05, -0.025, -0.005
MINE, LEFT, RIGHT, ACCELERATE, BRAKE, NONE = range(6)
FUEL_PER_FRAME = np.array([FUEL_MINE + FUEL_IDLE, FUEL_IDLE, FUEL_IDLE, FUEL_IDLE + FUEL_ACC, FUEL_IDLE, FUEL_IDLE])
# (cos, sin) of every whole degree, rounded once from float64: angles stay whole degrees
# (start 45, turns of 10), and a table keeps float32 trigonometry from biasing the path.
_COS_SIN = np.stack([np.cos(np.radians(np.arange(360))), np.sin(np.radians(np.arange(360)))], axis=1).astype(np.float32)


def _config(mines: list[tuple[float, float, list[list[float]]]]) -> dict[str, Any]:
    return {
        "capacity": 1.5,
        "ore_cnt": 2,
        "mine_cnt": len(mines),
        "mines": [{"x": x, "y": y, "distributions": d} for x, y, d in mines],
    }


# MO-Gymnasium's mine_config.json and mine_config_det.json (colours left out).
CONFIG = _config(
    [
        (0.16, 0.84, [[0.2, 0.05], [0, 0.05]]),
        (0.5, 0.84, [[0.15, 0.05], [0.1, 0.05]]),
        (0.84, 0.84, [[0.2, 0.05], [0.2, 0.05]]),
        (0.84, 0.5, [[0.1, 0.05], [0.15, 0.05]]),
        (0.84, 0.16, [[0, 0.05], [0.2, 0.05]]),
    ]
)
CONFIG_DETERMINISTIC = _config(
    [
        (0.16, 0.84, [[0.2, 0], [0, 0]]),
        (0.5, 0.84, [[0.15, 0], [0.1, 0]]),
        (0.84, 0.84, [[0.2, 0], [0.2, 0]]),
        (0.84, 0.5, [[0.1, 0], [0.15, 0]]),
        (0.84, 0.16, [[0, 0], [0.2, 0]]),
    ]
)


@struct.dataclass
class MinecartState:
    position: jax.Array  # float32 [2] (x, y) in [0, 1]
    speed: jax.Array  # float32
    angle: jax.Array  # int32 degrees (may leave [0, 360) after a wall turn, as in MO-Gymnasium)
    content: jax.Array  # float32 [ore_cnt]
    departed: jax.Array  # bool: has left the base
    time: jax.Array  # int32 steps taken


@struct.dataclass
class MinecartParams:
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(1000))


def _load_config(config: Any) -> dict[str, Any]:
    if isinstance(config, dict):
        data = config
    else:
        with open(config) as f:
            data = json.load(f)
    mines = data.get("mines", [])
    if len(mines) != data["mine_cnt"] or any("distributions" not in m for m in mines):
        raise ValueError(
            f"minecart: config must give 'x', 'y' and 'distributions' for all {data['mine_cnt']} mines "
            "(random mine layouts are not ported)"
        )
    return data


class Minecart(Environment[MinecartState, MinecartParams]):
    """Minecart with MO-Gymnasium's dynamics, rewards and time limit; `ore_cnt + 1` objectives.

    `deterministic=True` selects MO-Gymnasium's mine_config_det.json (what
    `minecart-deterministic-v0` registers); `config` (a path to a JSON file in
    MO-Gymnasium's format, or such a dict) overrides both.
    """

    def __init__(
        self,
        deterministic: bool = False,
        frame_skip: int = 4,
        incremental_frane_skip: bool = True,  # sic: MO-Gymnasium's spelling
        config: Any = None,
        image_observation: bool = False,
    ):
        if image_observation:
            raise ValueError("minecart: image_observation=True is not ported; use the vector observation")
        if not (isinstance(frame_skip, int) and frame_skip > 0):
            raise ValueError(f"minecart: frame_skip must be a positive int, got {frame_skip!r}")
        data = _load_config(config if config is not None else CONFIG_DETERMINISTIC if deterministic else CONFIG)
        self.frame_skip = frame_skip
        self.incremental_frame_skip = bool(incremental_frane_skip)
        self.capacity = float(data["capacity"])
        self.ore_cnt = int(data["ore_cnt"])
        self.mine_pos = np.array([[m["x"], m["y"]] for m in data["mines"]], np.float64)  # [mines, 2]
        dists = np.array([m["distributions"] for m in data["mines"]], np.float64)  # [mines, ore, 2]
        self.ore_mean, self.ore_std = dists[..., 0], dists[..., 1]

    @property
    def default_params(self) -> MinecartParams:
        return MinecartParams()

    @property
    def reward_dim(self) -> int:
        return self.ore_cnt + 1

    def _obs(self, state: MinecartState) -> jax.Array:
        cos, sin = _direction(state.angle)
        return jnp.concatenate([state.position, jnp.stack([state.speed, sin, cos]), state.content / self.capacity])

    def reset_env(self, key, params):
        state = MinecartState(
            position=jnp.zeros((2,), jnp.float32),
            speed=jnp.float32(0.0),
            angle=jnp.int32(45),
            content=jnp.zeros((self.ore_cnt,), jnp.float32),
            departed=jnp.bool_(False),
            time=jnp.int32(0),
        )
        return self._obs(state), state

    def ore_normals(self, key: jax.Array) -> jax.Array:
        """The step's ore draws: standard normals `[frame_skip, ore_cnt]` (row `f` for the
        `f`-th mining attempt); the export's numpy twin draws them too."""
        return jax.random.normal(key, (self.frame_skip, self.ore_cnt))

    def _mine(self, content, position, speed, normal):
        """One mining attempt at the nearest mine; `normal [ore_cnt]` standard normals."""
        distance = jnp.linalg.norm(jnp.asarray(self.mine_pos, jnp.float32) - position, axis=1)
        nearest = jnp.argmin(distance)
        mean = jnp.asarray(self.ore_mean, jnp.float32)[nearest]
        std = jnp.asarray(self.ore_std, jnp.float32)[nearest]
        mined = jnp.maximum(0.0, mean + std * normal)
        free = self.capacity - jnp.sum(content)
        total = jnp.sum(mined)
        mined = jnp.where(total > free, mined * (free / jnp.where(total > 0, total, 1.0)), mined)
        can = (speed < EPS_SPEED) & (distance[nearest] <= MINE_RADIUS)
        return jnp.where(can, content + mined, content)

    @staticmethod
    def _move(position, speed, angle):
        """One frame of motion (MO-Gymnasium's `Cart.step`): slide along walls, clip to the square.

        The new speed is the length of the displacement, taken from the velocity (or the
        distance to the wall where clipped) rather than from `new - old` positions, which
        would cancel float32 digits every frame.
        """
        velocity = speed * _direction(angle)
        (x, y), (vx, vy) = position, velocity
        turn_x = (y != 0) & (y != 1) & (jnp.abs(vy) > EPS_SPEED)
        turn_y = (x != 0) & (x != 1) & (jnp.abs(vx) > EPS_SPEED)
        turn = (
            jnp.where(turn_x & (x == 1) & (vx > 0), jnp.sign(vy), 0)
            - jnp.where(turn_x & (x == 0) & (vx < 0), jnp.sign(vy), 0)
            - jnp.where(turn_y & (y == 1) & (vy > 0), jnp.sign(vx), 0)
            + jnp.where(turn_y & (y == 0) & (vy < 0), jnp.sign(vx), 0)
        ).astype(jnp.int32) * ROTATION
        target = position + velocity
        new_position = jnp.clip(target, 0.0, 1.0)
        displacement = jnp.where(target == new_position, velocity, new_position - position)
        moving = speed >= EPS_SPEED
        return (
            jnp.where(moving, new_position, position),
            jnp.where(moving, jnp.linalg.norm(displacement), speed),
            jnp.where(moving, angle + turn, angle),
        )

    def step_env(self, key, state, action, params):
        # Incremental frame skip: `frame_skip` frames of (action, move, base check);
        # otherwise one frame whose action and move are each repeated `frame_skip` times.
        frames, repeats = (self.frame_skip, 1) if self.incremental_frame_skip else (1, self.frame_skip)
        normals = self.ore_normals(key)
        turn = jnp.where(action == LEFT, -ROTATION, jnp.where(action == RIGHT, ROTATION, 0)) * repeats
        accelerate = jnp.where(action == ACCELERATE, ACCELERATION, jnp.where(action == BRAKE, -DECELERATION, 0.0)) * repeats

        def frame(f, carry):
            position, speed, angle, content, departed, ore, end, stopped = carry
            # MO-Gymnasium applies the action, then leaves the frame loop if the episode ended.
            active = ~stopped
            angle = jnp.where(active & (turn != 0), jnp.mod(angle + turn, 360), angle)
            speed = jnp.where(active & (accelerate != 0), jnp.clip(speed + accelerate, 0.0, MAX_SPEED), speed)
            mining = active & (action == MINE)
            for j in range(repeats):
                content = jnp.where(mining, self._mine(content, position, speed, normals[f * repeats + j]), content)
            stopped = stopped | end
            run = active & ~end
            for _ in range(repeats):
                moved = self._move(position, speed, angle)
                position, speed, angle = (jnp.where(run, new, old) for new, old in zip(moved, (position, speed, angle)))
            at_base = run & (jnp.linalg.norm(position) < BASE_RADIUS)
            arrived = at_base & departed
            ore = ore + jnp.where(arrived, content, 0.0)
            content = jnp.where(arrived, 0.0, content)
            return position, speed, angle, content, departed | (run & ~at_base), ore, end | arrived, stopped

        no = jnp.bool_(False)
        init = (state.position, state.speed, state.angle, state.content, state.departed, jnp.zeros_like(state.content), no, no)
        carry = init
        for f in range(frames):  # unrolled: an XLA:CPU while loop costs far more per step than these few ops
            carry = frame(f, carry)
        position, speed, angle, content, departed, ore, end, _ = carry
        fuel = jnp.asarray(FUEL_PER_FRAME * self.frame_skip, jnp.float32)[action]
        reward = jnp.concatenate([ore, fuel[None]])
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~end
        next_state = MinecartState(position, speed, angle, content, departed, time)
        return self._obs(next_state), next_state, reward, end, truncated, {}

    def observation_space(self, params=None):
        return spaces.Box(-1.0, 1.0, (5 + self.ore_cnt,), jnp.float32)

    def action_space(self, params=None):
        return spaces.Discrete(6)

    # --- approximate Pareto front (host side, numpy) ------------------------------------
    def _truncated_means(self) -> np.ndarray:
        """`[mines, ore]` mean of each N(mean, std) truncated to [0, inf) (the mean itself if std is 0)."""
        means = np.array(self.ore_mean)
        for index in zip(*np.nonzero(self.ore_std)):
            mean, std = self.ore_mean[index], self.ore_std[index]
            a = -mean / std
            density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
            tail = 0.5 * math.erfc(a / math.sqrt(2))
            means[index] = mean + density / tail * std
        return means

    def pareto_front(self, gamma: float = 1.0, symmetric: bool = True) -> np.ndarray:
        """MO-Gymnasium's approximate front `[n, ore_cnt + 1]` for discount `gamma`.

        For each mine (and a virtual empty mine at the base's edge): turn left towards it,
        every accelerate/coast pattern that covers the distance, brake, turn around, mine
        until full, and drive back (the same pattern when `symmetric`, any otherwise);
        ore is paid on the last step at the expected (truncated-normal) yield.
        """
        skip = self.frame_skip
        base_edge = (BASE_RADIUS**2 / 2) ** 0.5
        targets = [(pos, means) for pos, means in zip(self.mine_pos, self._truncated_means())]
        targets.append((np.array([base_edge, base_edge]), np.zeros(self.ore_cnt)))
        fuel = FUEL_PER_FRAME * skip
        turn_around = 180 // (ROTATION * skip)
        returns = []
        for position, means in targets:
            distance = math.hypot(*position) - MINE_RADIUS - BASE_RADIUS / 2
            angle = math.degrees(math.atan2(position[0] - position[1], position[0] + position[1]))
            rotations = math.ceil(abs(angle) / (ROTATION * skip))
            drives = self._drive_patterns(distance)
            mine_means = means * skip
            per_action = float(np.sum(mine_means))
            max_mining = 0 if per_action == 0 else math.ceil(self.capacity / per_action)
            mining = [[MINE] * n for n in range(1, max_mining + 1)]
            turn = [LEFT] * rotations
            pairs = [(out, out) for out in drives] if symmetric else list(itertools.product(drives, drives))
            if mining:
                sequences = [
                    turn + out + [BRAKE] + [LEFT] * turn_around + mine + back
                    for (out, back), mine in itertools.product(pairs, mining)
                ]
            else:  # the virtual mine: turn around without braking or mining
                sequences = [turn + out + [LEFT] * turn_around + [NONE] + back[1:] for out, back in pairs]
            longest = max((len(s) for s in drives), default=0)
            horizon = rotations + 2 * longest + 1 + turn_around + max_mining
            discounts = gamma ** np.arange(horizon)
            for sequence in sequences:
                rewards = np.zeros((len(sequence), self.ore_cnt + 1))
                rewards[:, -1] = fuel[sequence]
                n_mine = sequence.count(MINE)
                rewards[-1, :-1] = mine_means * n_mine / max(1, (per_action * n_mine) / self.capacity)
                returns.append(discounts[: len(sequence)] @ rewards)
        return _non_dominated(np.array(returns))

    def _drive_patterns(self, distance: float) -> list[list[int]]:
        """Every accelerate/coast sequence (starting with accelerate) that first covers `distance`."""
        skip = self.frame_skip
        first = skip * (skip + 1) / 2 if self.incremental_frame_skip else skip * skip
        stack = [(ACCELERATION * skip, distance - first * ACCELERATION, [ACCELERATE])]
        patterns = []
        while stack:
            speed, remaining, sequence = stack.pop()
            faster = speed + ACCELERATION * skip
            steps = faster / ACCELERATION
            movement = (steps * (steps + 1) / 2 - (steps - skip) * (steps - skip + 1) / 2) * ACCELERATION
            for action, new_speed, left in (
                (ACCELERATE, faster, remaining - movement),
                (NONE, speed, remaining - speed * skip),
            ):
                if left <= 0:
                    patterns.append(sequence + [action])
                else:
                    stack.append((new_speed, left, sequence + [action]))
        return patterns


def _direction(angle: jax.Array) -> jax.Array:
    """`[cos, sin]` of a whole number of degrees."""
    return jnp.asarray(_COS_SIN)[jnp.mod(angle, 360)]


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """Rows of `points [n, m]` that no other row weakly dominates, duplicates once, sorted."""
    points = np.unique(points, axis=0)
    keep = [not np.any(np.all(points >= p, axis=1) & np.any(points > p, axis=1)) for p in points]
    return points[np.array(keep)]
