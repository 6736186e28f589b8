"""MORL/D throughput here vs morl-baselines' MORL/D on the same env, same machine, same run.

morl-baselines (PyTorch) needs its own virtual environment, never the project's:

    python3 -m venv /tmp/mb-venv
    /tmp/mb-venv/bin/pip install torch==2.13.0 morl-baselines
    taskset -c 0 .venv/bin/python benchmarks/vs_morl_baselines.py --pop 8
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false .venv/bin/python benchmarks/vs_morl_baselines.py --pop 64 --devices 2

(the second: both libraries on both cores, our population split over 2 host devices).
`--learner sac` runs our MORL/D with the discrete SAC theirs uses, on its numbers
(`SAC_LIKE_THEIRS`): the like-for-like algorithm, as opposed to each library's default.

Ours: `benchmarks/morld_throughput.py`'s measurement (one run, default PPO learner, one
compiled chunk of `--chunk` updates of every member with evaluation and archive inside,
timed after a warm-up chunk). Theirs: `morl_baselines.multi_policy.morld.MORLD` with its
discrete SAC learner (`MOSACDiscrete`; morl-baselines' MORL/D has no PPO learner) on
MO-Gymnasium's env, the same population size and 64-64 networks, `learning_starts` set
low so gradient updates happen during the timed steps, wandb logging off; it runs in a
subprocess of the other interpreter and `train()` is timed after construction (a warm-up
`train()` call first). Both count training env steps; both evaluate their population
inside the timed work (ours: every 5 updates, 1 episode; theirs: after every exchange,
`--mb-eval-episodes` episodes). Printed: steps/s of each and the ratio. Both processes
inherit this one's CPU affinity, so `taskset` pins both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from morld_throughput import measure  # noqa: E402

from morl.algorithms.morld.config import SACSection  # noqa: E402

#: `--learner sac`: our MORL/D with the discrete SAC that theirs runs, matched to its numbers:
#: 64-64 ReLU networks, batches of 128, one gradient step per 4 env steps (theirs:
#: `update_frequency` 4), learning from env step 100; evaluation once per 500 env steps of
#: every member (theirs: after each member's `exchange_every` turn).
SAC_LIKE_THEIRS = dict(
    learner="sac",
    sac=SACSection(num_envs=4, rollout_steps=1, gradient_steps=1, batch_size=128, buffer_size=100_000,
                   learning_starts=100, hidden_sizes=(64, 64), activation="relu"),
    eval_period=125,
    eval_episodes=1,
)

THEIRS = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np, torch, mo_gymnasium as mo_gym
    from morl_baselines.multi_policy.morld.morld import MORLD
    env_id, pop, steps, exchange, episodes, ref = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6])
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    agent = MORLD(mo_gym.make(env_id), policy_name="MOSACDiscrete", pop_size=pop, exchange_every=exchange,
                  policy_args={"learning_starts": 100, "buffer_size": 100000, "net_arch": [64, 64]},
                  log=False, device="cpu", seed=0)
    eval_env = mo_gym.make(env_id)
    ref = np.array(ref, dtype=np.float32)
    agent.train(total_timesteps=exchange, eval_env=eval_env, ref_point=ref, num_eval_episodes_for_front=episodes, checkpoints=False)
    done = agent.global_step
    tick, tock = time.perf_counter(), time.process_time()
    agent.train(total_timesteps=done + steps, eval_env=eval_env, ref_point=ref, num_eval_episodes_for_front=episodes, checkpoints=False)
    wall, cpu = time.perf_counter() - tick, time.process_time() - tock
    print("RESULT " + json.dumps({"steps": agent.global_step - done, "wall": wall, "cpu": cpu}))
    """
)
REF = {"deep-sea-treasure-v0": [0.0, -25.0], "minecart-v0": [-1.0, -1.0, -200.0]}


def run_morl_baselines(python: str, script: str, args: list[str], prefix: str) -> list[dict]:
    """Run `script` under morl-baselines' interpreter `python` (wandb off) and parse every
    stdout line `"<prefix> <json>"`; exit with its stderr if it fails or prints none."""
    command = [python, "-c", script, *args]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"})
    rows = [json.loads(line.removeprefix(prefix + " ")) for line in done.stdout.splitlines() if line.startswith(prefix + " ")]
    if done.returncode != 0 or not rows:
        raise SystemExit(f"morl-baselines run failed (status {done.returncode}):\n{done.stderr[-3000:]}")
    return rows


def theirs(python: str, env: str, pop: int, steps: int, exchange: int, episodes: int) -> dict:
    args = [env, str(pop), str(steps), str(exchange), str(episodes), json.dumps(REF[env])]
    result = run_morl_baselines(python, THEIRS, args, "RESULT")[-1]
    return {"steps_per_s": result["steps"] / result["wall"], "steps_per_cpu_s": result["steps"] / result["cpu"], **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="deep-sea-treasure-v0", choices=sorted(REF))
    parser.add_argument("--pop", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=None,
                        help="our iterations per timed chunk (default: 10 PPO updates, or 250 SAC iterations)")
    parser.add_argument("--mb-python", default="/tmp/mb-venv/bin/python")
    parser.add_argument("--mb-steps", type=int, default=2000, help="their timed env steps")
    parser.add_argument("--mb-exchange", type=int, default=500, help="their exchange_every (env steps per turn)")
    parser.add_argument("--mb-eval-episodes", type=int, default=1)
    parser.add_argument("--devices", type=int, default=1, help="split our population over this many (CPU) devices")
    parser.add_argument("--learner", choices=("ppo", "sac"), default="ppo",
                        help="our base learner: ppo (MORL/D's default) or sac (the algorithm theirs runs, same numbers)")
    args = parser.parse_args()
    if args.devices > 1:
        from morl import parallel

        parallel.request_cpu_devices(args.devices)
    cores = len(os.sched_getaffinity(0))
    print(f"{args.env}, population {args.pop}, our devices {args.devices}, {cores} core(s) usable, load {os.getloadavg()[0]:.1f}", flush=True)
    overrides = SAC_LIKE_THEIRS if args.learner == "sac" else {}
    chunk = args.chunk or (250 if args.learner == "sac" else 10)
    mine = measure(args.env, args.pop, chunk, repeats=3, devices=args.devices, **overrides)
    print(f"morl (JAX) MORL/D, {args.learner}:   {mine['steps_per_s']:>10,.0f} env steps/s  {mine['steps_per_cpu_s']:>10,.0f} per CPU-s", flush=True)
    other = theirs(args.mb_python, args.env, args.pop, args.mb_steps, args.mb_exchange, args.mb_eval_episodes)
    print(f"morl-baselines MORL/D:    {other['steps_per_s']:>10,.1f} env steps/s  {other['steps_per_cpu_s']:>10,.1f} per CPU-s", flush=True)
    print(f"ratio (wall):  {mine['steps_per_s'] / other['steps_per_s']:,.0f}x")
    print(f"ratio (CPU-s): {mine['steps_per_cpu_s'] / other['steps_per_cpu_s']:,.0f}x")


if __name__ == "__main__":
    main()
