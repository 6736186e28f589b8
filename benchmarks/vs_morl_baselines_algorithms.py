"""PGMORL, CAPQL, Envelope, GPI-LS and PCN throughput here vs morl-baselines, same env, same run.

Training env steps per wall second of each library's trainer, on the same machine in the
same run, printed side by side with the ratio (issue 22: PGMORL and CAPQL at least 10x
morl-baselines; issue 23: Envelope, GPI-LS and PCN at least 100x on deep-sea-treasure).
morl-baselines (PyTorch) needs its own virtual environment, never the project's:

    python3 -m venv /tmp/mb-venv
    /tmp/mb-venv/bin/pip install torch==2.13.0 morl-baselines mujoco
    taskset -c 0 .venv/bin/python benchmarks/vs_morl_baselines_algorithms.py              # all five
    taskset -c 0 .venv/bin/python benchmarks/vs_morl_baselines_algorithms.py --algorithm capql

Both processes inherit this one's CPU affinity, so `taskset` pins both alike (torch gets
as many threads as usable cores). Environments: PGMORL and CAPQL on
mo-mountaincarcontinuous-v0 (a continuous env both libraries have; ours is the JAX port,
theirs MO-Gymnasium's), the other three on deep-sea-treasure-v0; `--env` picks another
(`--algorithm pgmorl --env mo-hopper-2d-v4`: ours steps MO-Gymnasium's MuJoCo env in
MuJoCo C on the host, `morl.envs.host`).

Ours: `morl.algorithms.get_algorithm(name)` with the algorithm's defaults (only `env` and a
budget no benchmark exhausts changed); `init`, one chunk to compile and warm up, then
`--repeats` chunks (the algorithm's own chunk size) timed together; steps = the trainer's
`env_steps` difference. Everything a chunk does is inside the timing: rollouts, gradient
steps, the periodic evaluations into the archive, and PGMORL's host task selection.

Theirs: the morl-baselines class on MO-Gymnasium's env, `log=False` (wandb off), CPU
torch, networks of our sizes; a warm-up call first, then a timed call; steps = their own
`global_step` difference. What each side counts and what differs:

- PGMORL: ours 6 tasks x 20 PPO updates x (4 envs x 2048 steps) = 983,040 steps per
  chunk, a deterministic evaluation of every task after every update inside it; the
  timed chunk is the warm-up stage's second (host task selection starts after the 4th,
  so `--repeats` > 3 times it too). Theirs: the same PPO numbers (their defaults: 4 x
  2048, 10 epochs x 32 minibatches, 64-64, GAE 0.95), one `__train_all_agents` call = one
  PPO update of each of the 6 agents (49,152 steps); their evaluation and selection are
  not timed.
- CAPQL: both 256-256 ReLU, batch 128, one gradient step per env step, 1 env, 1,000
  random steps first (our timed chunks come after them; theirs after 1,200 steps).
  Ours evaluates 21 weights every 5,000 steps inside the timing; theirs evaluates
  only with wandb logging on, so not here.
- Envelope: ours 4 envs x 4 steps then 8 gradient steps (0.5 per env step), batch 32,
  N_w 8, 128-128, uniform replay, 200-weight evaluation every 400 steps. Theirs: 128-128,
  batch 32, N_w 8, PER off (ours has none), but one gradient step per env step (their
  minimum): twice our gradient steps per env step; `--like-theirs` adds a row with ours
  at 16 gradient steps per 16 env steps. No evaluation on their side.
- GPI-LS: ours as Envelope's numbers, N_w 4 (the round's weight + 3 from the support),
  rounds of 1,600 steps with the GPI evaluation and linear-support step inside. Theirs:
  `GPILS` (dyna and GPI-PD off), 128-128, one net (`num_nets=1`), batch 32, no dropout
  or layer norm, uniform replay (morl-baselines 1.3.0 crashes with `per=False`: its
  buffer's `sample` also returns the indices; the script drops them), one gradient step
  per env step (their default is 20; ours 0.5; `--like-theirs` adds ours at 1), rounds
  of 1,600 steps (`timesteps_per_iter`) with their linear support and its policy
  evaluations (1 episode per weight) timed. The targets differ: ours is the GPI target
  (the target network at every support weight: 32 x 36 rows per gradient step), theirs
  without GPI-PD the plain `max_a` for the row's own weight (64 rows), so at equal batches
  ours does about 10x their arithmetic per gradient step.
- PCN: both 64 hidden, batch 256, 50 gradient steps per 10 episodes, buffer of 100
  episodes. Ours: 50 random episodes to start (inside the timed chunk only at init, so
  not timed), evaluation every 10 iterations. Theirs: 20 random episodes at every
  `train()` start (timed, counted); their per-iteration checkpoint save and front
  evaluation (`save`, `evaluate`) are stubbed out, so not timed. Env steps per gradient
  step follow the episode lengths, which shrink as the policy learns, so both rates
  depend on how far training is (ours: iterations 50-200; theirs: a fresh 20,000 steps).

Printed: each side's env steps per wall second and per process CPU-second (the steadier
figure on a shared machine), their ratios and the issue's floor. Rates swing with the
machine's load (torch's threads spin-wait): quote `uptime` with them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

#: algorithm -> (env, floor (ours / theirs), our chunks timed)
SETUPS = {
    "pgmorl": ("mo-mountaincarcontinuous-v0", 10, 1),
    "capql": ("mo-mountaincarcontinuous-v0", 10, 5),
    "envelope": ("deep-sea-treasure-v0", 100, 3),
    "gpi-ls": ("deep-sea-treasure-v0", 100, 3),
    "pcn": ("deep-sea-treasure-v0", 100, 3),
}

#: Our config changes beside env and budget for `--like-theirs` rows (theirs' update-to-data ratio).
LIKE_THEIRS = {"envelope": {"gradient_steps": 16}, "gpi-ls": {"gradient_steps": 16}}

THEIRS = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np, torch, mo_gymnasium as mo_gym
    algo, env_id, steps, ref = sys.argv[1], sys.argv[2], int(sys.argv[3]), np.array(json.loads(sys.argv[4]), dtype=np.float32)
    torch.set_num_threads(len(os.sched_getaffinity(0)))

    def timed(agent, call):
        before = agent.global_step
        tick, tock = time.perf_counter(), time.process_time()
        call()
        wall, cpu = time.perf_counter() - tick, time.process_time() - tock
        return {"steps": int(agent.global_step - before), "wall": wall, "cpu": cpu}

    if algo == "pgmorl":
        from morl_baselines.multi_policy.pgmorl.pgmorl import PGMORL
        agent = PGMORL(env_id, origin=ref, num_envs=4, pop_size=6, steps_per_iteration=2048, net_arch=[64, 64],
                       log=False, device="cpu", seed=0)
        agent.start_time = time.time()  # set by train(), read by each agent's update
        step = lambda: agent._PGMORL__train_all_agents(iteration=0, max_iterations=10**6)
        step()
        result = timed(agent, step)
    elif algo == "capql":
        from morl_baselines.multi_policy.capql.capql import CAPQL
        agent = CAPQL(mo_gym.make(env_id), net_arch=[256, 256], batch_size=128, learning_starts=1000,
                      gradient_updates=1, log=False, device="cpu", seed=0)
        eval_env = mo_gym.make(env_id)
        agent.train(total_timesteps=1200, eval_env=eval_env, ref_point=ref, checkpoints=False)
        result = timed(agent, lambda: agent.train(total_timesteps=steps, eval_env=eval_env, ref_point=ref, checkpoints=False))
    elif algo == "envelope":
        from morl_baselines.multi_policy.envelope.envelope import Envelope
        agent = Envelope(mo_gym.make(env_id), net_arch=[128, 128], batch_size=32, num_sample_w=8, per=False,
                         gradient_updates=1, learning_starts=100, log=False, device="cpu", seed=0)
        agent.train(total_timesteps=500, reset_num_timesteps=False)
        result = timed(agent, lambda: agent.train(total_timesteps=steps, reset_num_timesteps=False))
    elif algo == "gpi-ls":
        from morl_baselines.multi_policy.gpi_pd.gpi_pd import GPILS
        agent = GPILS(mo_gym.make(env_id), net_arch=[128, 128], num_nets=1, batch_size=32, per=False, drop_rate=0.0,
                      layer_norm=False, gradient_updates=1, learning_starts=100, log=False, device="cpu", seed=0)
        uniform = agent.replay_buffer.sample  # with per=False their update expects 5 arrays, the buffer gives 6
        agent.replay_buffer.sample = lambda *a, **k: uniform(*a, **k)[:5]
        eval_env = mo_gym.make(env_id)
        run = lambda n: agent.train(total_timesteps=n, eval_env=eval_env, ref_point=ref, num_eval_episodes_for_front=1,
                                    timesteps_per_iter=1600, checkpoints=False)
        run(1600)
        result = timed(agent, lambda: run(steps))
    elif algo == "pcn":
        from morl_baselines.multi_policy.pcn.pcn import PCN
        agent = PCN(mo_gym.make(env_id), scaling_factor=np.array([0.1, 0.1, 0.01]), hidden_dim=64, batch_size=256,
                    log=False, device="cpu", seed=0)
        agent.save = lambda *a, **k: None
        agent.evaluate = lambda *a, **k: (None, None, None)
        eval_env = mo_gym.make(env_id)
        run = lambda n: agent.train(total_timesteps=n, eval_env=eval_env, ref_point=ref, num_er_episodes=20,
                                    num_step_episodes=10, num_model_updates=50, max_buffer_size=100,
                                    max_return=np.array([124.0, 0.0], dtype=np.float32))
        run(2000)
        # train() restarts its count at 0 and refills its buffer; count the whole call
        tick, tock = time.perf_counter(), time.process_time()
        run(steps)
        result = {"steps": int(agent.global_step), "wall": time.perf_counter() - tick, "cpu": time.process_time() - tock}
    else:
        raise SystemExit(f"unknown algorithm {algo}")
    print("RESULT " + json.dumps(result), flush=True)
    """
)

#: Their timed env steps (about 10-60 s each on one core).
THEIR_STEPS = {"pgmorl": 0, "capql": 2000, "envelope": 3000, "gpi-ls": 3200, "pcn": 20000}


def theirs(python: str, algo: str, env: str, steps: int, ref: tuple[float, ...]) -> dict:
    """Run morl-baselines' `algo` under `python` in a scratch directory (wandb off)."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [python, "-c", THEIRS, algo, env, str(steps), json.dumps(list(ref))],
            capture_output=True, text=True, cwd=scratch, env={**os.environ, "WANDB_MODE": "disabled"},
        )
    rows = [json.loads(line[7:]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not rows:
        raise SystemExit(f"morl-baselines {algo} failed (status {done.returncode}):\n{done.stderr[-3000:]}")
    row = rows[-1]
    return {**row, "steps_per_s": row["steps"] / row["wall"], "steps_per_cpu_s": row["steps"] / row["cpu"]}


def ours(algo: str, env: str, chunks: int, **overrides) -> dict:
    """Our trainer with its defaults on `env`: compile + one chunk, then `chunks` chunks timed."""
    import jax

    from morl.algorithms import get_algorithm

    entry = get_algorithm(algo)
    names = {f.name for f in dataclasses.fields(entry.config_cls)}
    budget = 10**9 if algo != "pgmorl" else 2 * 10**9
    config = entry.config_cls(env=env, total_steps=budget, **{k: v for k, v in overrides.items() if k in names})
    trainer = entry.make_trainer(config)
    start = time.perf_counter()
    state = jax.block_until_ready(trainer.init(jax.random.key(0)))
    state, _ = trainer.run_chunk(state)
    state = jax.block_until_ready(state)
    first = time.perf_counter() - start
    before = trainer.env_steps(state)
    tick, tock = time.perf_counter(), time.process_time()
    for _ in range(chunks):
        state, _ = trainer.run_chunk(state)
    state = jax.block_until_ready(state)
    wall, cpu = time.perf_counter() - tick, time.process_time() - tock
    steps = trainer.env_steps(state) - before
    return {"steps": steps, "wall": wall, "cpu": cpu, "steps_per_s": steps / wall, "steps_per_cpu_s": steps / cpu,
            "compile_and_first_chunk_s": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", choices=["all", *SETUPS], default="all")
    parser.add_argument("--env", help="another env both libraries have, for one --algorithm (e.g. mo-hopper-2d-v4)")
    parser.add_argument("--mb-python", default="/tmp/mb-venv/bin/python")
    parser.add_argument("--repeats", type=int, default=None, help="our timed chunks (default: per algorithm)")
    parser.add_argument("--mb-steps", type=int, default=None, help="their timed env steps (PGMORL: one update of each agent)")
    parser.add_argument("--like-theirs", action="store_true",
                        help="also time Envelope / GPI-LS at their update-to-data ratio (one gradient step per env step)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.env and args.algorithm == "all":
        parser.error("--env needs one --algorithm")
    import jax

    from morl.envs.defaults import env_defaults

    cores = len(os.sched_getaffinity(0))
    print(f"jax {jax.__version__}, {cores} core(s) usable, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"{'algorithm':22} {'env':28} {'ours steps/s':>13} {'theirs':>9} {'ratio':>8} {'per CPU-s':>9} {'floor':>6}", flush=True)
    rows = []
    for algo in SETUPS if args.algorithm == "all" else [args.algorithm]:
        env, floor, chunks = SETUPS[algo]
        env = args.env or env
        other = theirs(args.mb_python, algo, env, args.mb_steps or THEIR_STEPS[algo], env_defaults(env).ref_point)
        variants = [("", {})] + ([(" (their UTD)", LIKE_THEIRS[algo])] if args.like_theirs and algo in LIKE_THEIRS else [])
        for label, overrides in variants:
            mine = ours(algo, env, args.repeats or chunks, **overrides)
            ratio, cpu_ratio = mine["steps_per_s"] / other["steps_per_s"], mine["steps_per_cpu_s"] / other["steps_per_cpu_s"]
            rows.append({"algorithm": algo + label, "env": env, "ours": mine, "theirs": other, "ratio": ratio,
                         "cpu_ratio": cpu_ratio, "floor": floor, "load": os.getloadavg()[0]})
            print(f"{algo + label:22} {env:28} {mine['steps_per_s']:>13,.0f} {other['steps_per_s']:>9,.1f} "
                  f"{ratio:>7,.0f}x {cpu_ratio:>8,.0f}x {floor:>5}x {'met' if ratio >= floor else 'NOT met'}"
                  f"   (ours {mine['steps']:,} steps in {mine['wall']:.1f} s, compile+1st {mine['compile_and_first_chunk_s']:.0f} s;"
                  f" theirs {other['steps']:,} in {other['wall']:.1f} s; load {os.getloadavg()[0]:.2f})", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"cores": cores, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
