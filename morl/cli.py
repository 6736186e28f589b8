"""The `morl` command: train, eval, plot, sweep, rollout.

    morl train                                   # the README's main job (MORL/D, deep-sea-treasure)
    morl train morld --env deep-sea-treasure-v0 --steps 50000 --seed 1 --out runs/dst
    morl train --config exp.yaml --set ppo.learning_rate=1e-3 --seeds 8
    morl train --seeds 8 --devices 2            # the 8 seeds split over 2 devices
    morl train --resume runs/dst
    morl eval runs/dst
    morl plot runs/a runs/b --out fig.png
    morl table runs/a runs/b --out results.md
    morl sweep sweeps/morld_dst.yaml

Exit status: 0 done; 2 bad input (unknown algorithm, env or key, a wrong type or range,
a damaged config file, an unusable run directory, a resume with another config), reported
as one line `morl: error: ...` before anything is written or compiled; 1 a run that failed
(one line; the traceback in a temporary file it names) or a sweep whose trials all failed;
128 + signal after SIGINT / SIGTERM (the run stops at a chunk boundary with a checkpoint;
a second signal quits at once).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

#: The README's main job: what `morl train` runs with no arguments (MORLDConfig's defaults:
#: 500,000 env steps; no budget here, so `morl train morld --env ID` gets the env's defaults).
DEFAULT_JOB: dict[str, Any] = {"algorithm": "morld", "algo": {"env": "deep-sea-treasure-v0"}}

#: Errors that mean bad input (paths included: a file where a directory belongs, no
#: permission, a run directory another process holds).
_USER_ERRORS = (ValueError, TypeError, OSError, NotImplementedError)

#: Exit status of bad input (argparse's own), and of a run or sweep that failed.
USAGE_ERROR, RUN_FAILED = 2, 1


class UserError(Exception):
    """Bad input; printed as one line."""


def _fail(message: str, status: int = USAGE_ERROR) -> int:
    print(f"morl: error: {_one_line(message)}", file=sys.stderr)
    return status


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "unknown error"


# --- train -----------------------------------------------------------------------------


def experiment_from_args(args: argparse.Namespace) -> tuple[Any, Path]:
    """The `Experiment` and run directory a `morl train` command line asks for."""
    from morl import config

    if args.resume is not None:
        if not (Path(args.resume) / "config.yaml").is_file():
            raise UserError(f"cannot resume '{args.resume}': no config.yaml there")
        raw = config.load_file(Path(args.resume) / "config.yaml" if args.config is None else args.config)
        out = Path(args.resume)
    else:
        raw = config.load_file(args.config) if args.config is not None else _default_raw(args.algorithm)
        out = None
    overrides: list[tuple[str, Any]] = []
    if args.algorithm is not None:
        overrides.append(("algorithm", args.algorithm))
    flags = (("env", "env"), ("steps", "total_steps"), ("seed", "seed"), ("seeds", "num_seeds"), ("devices", "devices"))
    for flag, key in flags:
        value = getattr(args, flag)
        if value is not None:
            overrides.append((key, value))
    for item in args.grid:
        key, values = config.parse_assignment(item)
        overrides.append((f"grid.{key}", [v for v in values.split(",") if v]))
    if args.no_progress:
        overrides.append(("log.progress", False))
    overrides += [config.parse_assignment(item) for item in args.set]
    experiment = config.build(raw, overrides)
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        default = Path("runs") / f"{experiment.algorithm}-{experiment.algo.env}-{stamp}"
        out = default if args.out is None else _out_path(args.out)
    elif args.out is not None and _out_path(args.out) != out:
        raise UserError(f"--out {args.out} and --resume {args.resume} name different run directories")
    return experiment, out


def _out_path(text: str) -> Path:
    if not text.strip():
        raise UserError("--out is empty; give a run directory such as runs/NAME")
    return Path(text)


def _default_raw(algorithm: str | None) -> dict[str, Any]:
    if algorithm is None or algorithm == DEFAULT_JOB["algorithm"]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_JOB.items()}
    return {"algorithm": algorithm}


def _train(args: argparse.Namespace) -> int:
    from morl import config
    from morl.train_loop import Interrupted, prepare, run, stop_on_signals

    with stop_on_signals() as stop:
        try:
            if args.distributed:
                from morl import parallel

                parallel.initialize_distributed()
            experiment, out = experiment_from_args(args)
            if args.print_config:
                print(config.to_yaml(experiment), end="")
                return 0
            job = prepare(experiment, out, resume=args.resume is not None, overwrite=args.overwrite)
        except (UserError, *_USER_ERRORS) as err:
            return _fail(str(err))
        for warning in job.warnings:
            print(f"morl: warning: {warning}", file=sys.stderr)
        try:
            summary = run(job, stop=stop)
        except Interrupted as stopped:
            return _interrupted(stopped)
        except Exception as err:  # a run that fails: one line here, the traceback in the run directory
            return _fail(f"training failed: {type(err).__name__}: {err}{_error_log()}", RUN_FAILED)
    if job.process_index == 0:
        _print_summary(summary)
    return 0


def _interrupted(stopped: Any) -> int:
    """The one line after `Interrupted`; status 128 + signal, as a shell reports a signal."""
    import signal

    name = signal.Signals(stopped.signum).name
    if stopped.chunk:
        where = f"checkpoint after chunk {stopped.chunk} ({stopped.env_steps:,} env steps)"
        print(f"morl: {name}: stopped with a {where}; continue with: morl train --resume {stopped.run_dir}",
              file=sys.stderr)
    else:
        print(f"morl: {name}: stopped before the first chunk; nothing trained", file=sys.stderr)
    return 128 + stopped.signum


def _error_log() -> str:
    """Write the current exception's traceback to a temporary file (never into a run
    directory, which may be an old run put back); the sentence that says where."""
    import tempfile
    import traceback

    try:
        with tempfile.NamedTemporaryFile("w", prefix="morl-error-", suffix=".log", delete=False) as f:
            f.write(traceback.format_exc())
    except OSError:
        return ""
    return f" (traceback in {f.name})"


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    what = f"{summary['algorithm']} on {summary['env']}"
    title = f"{what}: {summary['env_steps']:,} env steps, {summary['wall_time']:.1f} s"
    table = Table(title=title)
    columns = {"seed": "seed", "hypervolume": "HV", "expected_utility": "EU", "sparsity": "sparsity"}
    columns["cardinality"] = "|front|"
    if summary["true_front_known"]:
        columns.update(igd="IGD", mul="MUL")
    for header in columns.values():
        table.add_column(header, justify="right")
    for run in summary["runs"]:
        table.add_row(*(_fmt(run.get(key, "")) for key in columns))
    console = Console()
    console.print(table)
    overhead = 100 * summary["logging_overhead"]
    ref = tuple(summary["ref_point"])
    # paths are printed whole (never wrapped, never read as markup) so they can be copied
    plain = {"soft_wrap": True, "markup": False, "highlight": False}
    console.print(f"reference point {ref}; outside the trainer (logging, checkpoints): {overhead:.1f}%", **plain)
    console.print(f"front plot: {summary['front_plot']}", **plain)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- eval ------------------------------------------------------------------------------


def _eval(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from morl.io import rundir
    from morl.envs.evaluation import evaluate_policy
    from morl.restore import restore_run

    from morl.config import SEED_RANGE

    try:
        if args.episodes < 1:
            raise UserError(f"--episodes must be >= 1, got {args.episodes}")
        if not SEED_RANGE[0] <= args.seed <= SEED_RANGE[1]:
            raise UserError(f"--seed must lie in [{SEED_RANGE[0]}, {SEED_RANGE[1]}], got {args.seed}")
        restored = restore_run(args.run_dir)
    except (UserError, *_USER_ERRORS) as err:
        return _fail(str(err))
    trainer, algo = restored.trainer, restored.experiment.algo
    episodes = args.episodes
    columns = ["run", "member"]
    m = trainer.env.reward_dim
    columns += [f"stored{j}" for j in range(m)] + [f"eval{j}" for j in range(m)]
    rows = []
    key = jax.random.key(args.seed)
    for run in range(trainer.num_runs or 1):
        front = trainer.front(restored.state, run)
        for member, stored in zip(front.member, front.returns):
            key, sub = jax.random.split(key)
            act = trainer.policy(restored.state, int(member), run)
            returns = evaluate_policy(trainer.env, act, sub, episodes, algo.eval_gamma).mean(axis=0)
            row = {"run": run, "member": int(member)}
            row.update({f"stored{j}": float(stored[j]) for j in range(m)})
            row.update({f"eval{j}": float(returns[j]) for j in range(m)})
            rows.append(row)
    path = Path(args.run_dir) / "eval.csv"
    rundir.atomic_write(path, rundir.csv_text(columns, rows))
    for row in rows:
        stored = np.array([row[f"stored{j}"] for j in range(m)])
        again = np.array([row[f"eval{j}"] for j in range(m)])
        where = f"run {row['run']} member {row['member']:>4}"
        print(f"{where}: stored {np.round(stored, 3)}  evaluated {np.round(again, 3)}")
    print(f"{len(rows)} members evaluated over {episodes} episode(s) (eval_gamma {algo.eval_gamma}); table: {path}")
    return 0


# --- plot ------------------------------------------------------------------------------


def _plot(args: argparse.Namespace) -> int:
    from morl.io.plots import plot_runs

    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / "compare.png"
    try:
        written = plot_runs(args.run_dirs, out)
    except (UserError, *_USER_ERRORS) as err:
        return _fail(str(err))
    for path in written:
        print(path)
    return 0


def _table(args: argparse.Namespace) -> int:
    from morl.io import rundir
    from morl.io.results import markdown_table

    try:
        table = markdown_table(args.run_dirs)
    except (UserError, *_USER_ERRORS) as err:
        return _fail(str(err))
    if args.out:
        rundir.atomic_write(args.out, table)
    print(table, end="")
    return 0


# --- sweep -----------------------------------------------------------------------------


def _sweep(args: argparse.Namespace) -> int:
    from morl import sweeps

    try:
        sweep = sweeps.load_spec(args.spec, storage=args.storage, n_trials=args.n_trials)
        if args.summary:
            print(sweeps.summarize(sweep))
            return 0
        sweeps.check(sweep)
    except (UserError, *_USER_ERRORS) as err:
        return _fail(str(err))
    from morl.train_loop import Interrupted, stop_on_signals

    with stop_on_signals() as stop:
        try:
            sweeps.optimize(sweep, stop=stop)
        except Interrupted as stopped:
            return _interrupted(stopped)
        except sweeps.SweepFailed as err:
            print(sweeps.summarize(sweep))
            return _fail(str(err), RUN_FAILED)
    print(sweeps.summarize(sweep))
    return 0


# --- rollout ---------------------------------------------------------------------------


def _rollout(args: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp

    from morl import envs

    env = envs.EpisodeStatistics(envs.AutoReset(envs.make(args.env)), gamma=1.0)
    batch = envs.VmapEnv(env, args.num_envs)
    space = env.action_space()

    @jax.jit
    def run(key):
        obs, state = batch.reset(key)

        def body(carry, key):
            (state,) = carry
            k_act, k_step = jax.random.split(key)
            actions = jax.vmap(space.sample)(jax.random.split(k_act, args.num_envs))
            _, state, _, _, _, info = batch.step(k_step, state, actions)
            return (state,), (info["episode_return"], info["done"])

        _, (returns, done) = jax.lax.scan(body, (state,), jax.random.split(key, args.steps))
        return returns, done

    returns, done = run(jax.random.key(args.seed))
    finished = returns[done]
    mean = jnp.mean(finished, axis=0)
    print(f"{args.env}: {int(done.sum())} episodes with random actions; mean vector return {mean}")
    return 0


# --- render ----------------------------------------------------------------------------


def _render(args: argparse.Namespace) -> int:
    from morl.io.render import RenderError, choose_gl_backend, render_policy

    choose_gl_backend()  # before anything imports mujoco
    from morl.envs.registry import parse_kwargs
    from morl.restore import restore_run

    try:
        if args.steps < 1:
            raise UserError(f"--steps must be >= 1, got {args.steps}")
        restored = restore_run(args.run_dir)
        trainer, algo = restored.trainer, restored.experiment.algo
        runs = trainer.num_runs or 1
        if not 0 <= args.run < runs:
            raise UserError(f"--run {args.run} is out of range: '{args.run_dir}' holds {runs} run(s)")
        members = sorted(int(i) for i in trainer.front(restored.state, args.run).member)
        if args.point not in members:
            raise UserError(f"--point {args.point} is not an archive member of run {args.run}; members: {members}")
    except (UserError, *_USER_ERRORS) as err:
        return _fail(str(err))
    act = trainer.policy(restored.state, args.point, args.run)
    out = Path(args.out) if args.out else Path(args.run_dir) / f"member{args.point}_run{args.run}.gif"
    try:
        path, total, steps = render_policy(
            algo.env, parse_kwargs(getattr(algo, "env_kwargs", ())), act, out, seed=args.seed, max_steps=args.steps
        )
    except RenderError as err:
        return _fail(str(err), status=1)
    print(f"member {args.point} of run {args.run}: {steps} steps, undiscounted return {total.round(3)}; {path}")
    return 0


# --- parser ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), in the CLI's `morl: error:` form."""

    def error(self, message: str) -> Any:
        self.exit(USAGE_ERROR, f"morl: error: {_one_line(message)} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    from morl.algorithms import known_algorithms

    top = _Parser(prog="morl", description="JAX-native multi-objective RL")
    sub = top.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train",
        help="train an algorithm, writing a run directory",
        description="Train; with no arguments, the README's main job (MORL/D on deep-sea-treasure-v0). "
        "Precedence: embedded defaults < the env's defaults (morl.envs.defaults) < --config file < typed flags < --set. "
        "--print-config shows every field.",
    )
    train.add_argument("algorithm", nargs="?", help=f"one of {', '.join(known_algorithms())} (default: morld)")
    train.add_argument("--config", help="experiment file (.yaml or .py defining `config`)")
    train.add_argument("--env", help="environment id (sets algo.env)")
    train.add_argument("--steps", type=int, help="env-step budget per run (sets algo.total_steps)")
    train.add_argument("--seed", type=int, help="first seed (default 0)")
    train.add_argument("--seeds", type=int, help="number of seeds run in one compiled program")
    train.add_argument(
        "--devices", type=int, help="split the seeds (or else the population) over this many devices (CPU: host devices)"
    )
    train.add_argument(
        "--distributed",
        action="store_true",
        help="multi-host: run this same command on every host with JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and "
        "JAX_PROCESS_ID set (or under SLURM); --devices counts every host's devices; process 0 writes the run directory",
    )
    train.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2", help="grid over a vmappable field (repeatable)"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field (repeatable; --print-config lists them). KEY is dotted "
        "(ppo.learning_rate, log.checkpoint_every; a first part that is not an experiment key means algo.). "
        "VALUE is parsed by the field's type: 1e-3, true, null; a list: 0,-25 or [0,-25]; a list of lists "
        "in brackets: weight_init=[[1,0],[0.5,0.5],[0,1]]; a grid: grid.ppo.learning_rate=[1e-3,3e-4]",
    )
    train.add_argument(
        "--out", help="run directory (default runs/<algorithm>-<env>-<time>); locked while a process writes it"
    )
    train.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest intact checkpoint"
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run directory (kept aside until the new run has trained its first chunk)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    train.set_defaults(func=_train)

    ev = sub.add_parser("eval", help="restore a run's archive members and evaluate them again")
    ev.add_argument("run_dir")
    ev.add_argument("--episodes", type=int, default=1, help="episodes per member (default 1)")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=_eval)

    plot = sub.add_parser("plot", help="fronts and learning curves of runs on shared figures (PNG and PDF)")
    plot.add_argument("run_dirs", nargs="+")
    plot.add_argument("--out", help="figure path (default <first run>/compare.png)")
    plot.set_defaults(func=_plot)

    table = sub.add_parser("table", help="Markdown table of final indicators (mean +- std over seeds)")
    table.add_argument("run_dirs", nargs="+")
    table.add_argument("--out", help="also write the table to this file")
    table.set_defaults(func=_table)

    sweep = sub.add_parser("sweep", help="run (or join) an Optuna study from a sweep spec")
    sweep.add_argument("spec", help="sweep spec, e.g. sweeps/morld_dst.yaml")
    sweep.add_argument("--storage", help="Optuna storage URL (default sqlite in the sweep dir)")
    sweep.add_argument("--n-trials", type=int, help="trials this worker runs (default: the spec's)")
    sweep.add_argument("--summary", action="store_true", help="print the trials table and write the plot, no training")
    sweep.set_defaults(func=_sweep)

    rollout = sub.add_parser("rollout", help="random-action rollout printing vector returns")
    rollout.add_argument("--env", default="deep-sea-treasure-v0")
    rollout.add_argument("--num-envs", type=int, default=16)
    rollout.add_argument("--steps", type=int, default=200)
    rollout.add_argument("--seed", type=int, default=0)
    rollout.set_defaults(func=_rollout)

    render = sub.add_parser(
        "render", help="a GIF of one archive member acting (MO-Gymnasium's renderer; MuJoCo needs OSMesa or EGL)"
    )
    render.add_argument("run_dir")
    render.add_argument("--point", type=int, required=True, help="archive member id (front.csv's member column)")
    render.add_argument("--run", type=int, default=0, help="which run of the directory (seed / grid point)")
    render.add_argument("--out", help="GIF path (default: RUN_DIR/member<K>_run<R>.gif)")
    render.add_argument("--steps", type=int, default=500, help="episode length cap")
    render.add_argument("--seed", type=int, default=0, help="the episode's reset seed")
    render.set_defaults(func=_render)
    return top


def use_compile_cache() -> None:
    """Keep XLA executables in a persistent cache (`~/.cache/morl/jax`, or `$XDG_CACHE_HOME`)
    so a resumed run, a sweep trial or a repeated experiment skips recompilation. Setting
    `JAX_COMPILATION_CACHE_DIR` (empty: no cache) leaves the choice to JAX."""
    import os

    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    import jax

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    jax.config.update("jax_compilation_cache_dir", str(base / "morl" / "jax"))


def _format_warning(message: Any, category: type[Warning], filename: str, lineno: int, line: str | None = None) -> str:
    """A renamed config key's warning as one line (`morl: warning: ...`); others as Python prints them."""
    from morl.config import ConfigDeprecationWarning

    if issubclass(category, ConfigDeprecationWarning):
        return f"morl: warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warnings.formatwarning = _format_warning
    try:
        if args.command in ("train", "eval", "sweep"):
            use_compile_cache()
        return args.func(args)
    except KeyboardInterrupt:  # outside a run's signal handling (imports, set-up, eval, plots)
        print("morl: interrupted", file=sys.stderr)
        return 128 + 2


if __name__ == "__main__":
    sys.exit(main())
