"""Sharding the runs / population over devices (`morl.parallel`).

Multi-device checks run in a subprocess whose CPU backend has 4 devices (the backend's
device count is fixed when it starts, and this process's has started). The reference is
the same trainer on one device: a layout must not change what is computed beyond float
reassociation.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest

from morl import parallel

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, timeout: int = 900) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_one_device_means_no_placement():
    assert parallel.placement(None, num_runs=None, population=5) is None
    assert parallel.placement(1, num_runs=3, population=5) is None


def test_more_devices_than_jax_sees_is_a_clear_error():
    wanted = len(jax.devices()) + 1
    with pytest.raises(ValueError, match=f"devices={wanted} but JAX sees .*xla_force_host_platform_device_count"):
        parallel.placement(wanted, num_runs=None, population=8)
    with pytest.raises(ValueError, match="positive int"):
        parallel.placement(0, num_runs=None, population=8)


def test_importing_and_configuring_does_not_start_the_backend():
    """`morl train --devices N` asks for N CPU devices after building the config: nothing
    before that may start JAX's backend."""
    out = _run(
        """
        import jax._src.xla_bridge as xb
        from morl import config, cli
        import morl.algorithms.cmorl.train, morl.algorithms.morld.train, morl.pareto, morl.shaping
        config.build(cli.DEFAULT_JOB, [])
        config.build({"algorithm": "cmorl", "algo": {"env": "minecart-v0"}}, [])
        print("started:", xb.backends_are_initialized())
        """
    )
    assert "started: False" in out


#: Every multi-device script starts here: 4 CPU devices, two tiny configs, helpers.
PRELUDE = """
import jax, jax.numpy as jnp, numpy as np
from morl import parallel
parallel.request_cpu_devices(4)
from morl.algorithms.morld.config import MORLD_PPO, MORLDConfig
from morl.algorithms.morld.train import make_trainer as morld
from morl.algorithms.cmorl.config import CMORL_PPO, CMORLConfig
from morl.algorithms.cmorl.train import make_trainer as cmorl
assert len(jax.devices()) == 4


def leaves(tree):
    unkey = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
    return [np.asarray(unkey(x)) for x in jax.tree_util.tree_leaves(tree)]


def close(a, b, atol):
    return all(x.shape == y.shape and np.allclose(x, y, atol=atol) for x, y in zip(leaves(a), leaves(b)))


def train(make, config, devices, runs=None, chunks=None):
    trainer = make(config, num_runs=runs, devices=devices)
    keys = jax.random.key(3) if runs is None else jax.vmap(jax.random.key)(jnp.arange(runs))
    state = trainer.init(keys)
    done = 0
    while not trainer.done(state) and (chunks is None or done < chunks):
        state, _ = trainer.run_chunk(state)
        done += 1
    return trainer, state


SMALL = MORLDConfig(
    env="deep-sea-treasure-v0", total_steps=4 * 4 * 32 * 20, pop_size=4, eval_period=5, chunk_iterations=10,
    archive_capacity=16,
    ppo=MORLD_PPO.replace(num_envs=4, num_steps=32, num_epochs=2, num_minibatches=2, hidden_sizes=(16, 16)),
)
TINY = CMORLConfig(
    env="deep-sea-treasure-concave-v0", total_steps=24_000, init_steps=16_000, pop_size=2,
    weight_init="onehot", beta=0.5, eval_period=5, n_select=2, extension_updates=5, archive_capacity=16,
    ppo=CMORL_PPO.replace(num_envs=8, num_steps=32, num_epochs=2, num_minibatches=2, learning_rate=1e-3, ent_coef=0.05,
                          hidden_sizes=(16, 16)),
)
"""


def test_population_split_over_devices_matches_one_device():
    """MORL/D over 4 devices and C-MORL over 2, each member block on its own device, end
    with the one-device run's front; the split axis is the one `placement` documents."""
    out = _run(
        PRELUDE
        + """
assert parallel.placement(4, num_runs=8, population=6).what == "runs"
p = parallel.placement(2, num_runs=3, population=8)
assert (p.what, p.axis, p.num_devices) == ("population", 1, 2)
try:
    parallel.placement(4, num_runs=3, population=6)
    raise SystemExit("no error for an indivisible population")
except ValueError as err:
    assert "divides neither the population size (6) nor the number of runs (3)" in str(err), err

one_t, one = train(morld, SMALL, 1)
four_t, four = train(morld, SMALL, 4)
assert four_t.placement.what == "population"
spec = jax.tree_util.tree_leaves(four.members.params)[0].sharding.spec
assert spec == jax.sharding.PartitionSpec("devices"), spec
f1, f4 = one_t.front(one), four_t.front(four)
assert f1.returns.shape == f4.returns.shape and np.allclose(f1.returns, f4.returns, atol=1e-4), (f1, f4)
assert close(one.members.params, four.members.params, 1e-3)
print("morld ok", f1.returns.shape[0])

c1_t, c1 = train(cmorl, TINY, 1)
c2_t, c2 = train(cmorl, TINY, 2)
assert c2_t.placement.what == "population"
g1, g2 = c1_t.front(c1), c2_t.front(c2)
assert g1.returns.shape == g2.returns.shape and np.allclose(g1.returns, g2.returns, atol=1e-4), (g1, g2)
print("cmorl ok", g1.returns.shape[0])
"""
    )
    assert "morld ok" in out and "cmorl ok" in out


@pytest.mark.slow
def test_runs_split_over_devices_and_resume_on_one_device(tmp_path):
    """Seeds split over 4 devices equal the one-device program; a checkpoint of the split
    state restores onto one device and continues the same run."""
    out = _run(
        PRELUDE
        + f"""
from morl.io.checkpoint import Checkpointer
runs_t, runs4 = train(morld, SMALL, 4, runs=4, chunks=1)
base_t, runs1 = train(morld, SMALL, 1, runs=4, chunks=1)
assert runs_t.placement.what == "runs"
assert close(runs1.members.params, runs4.members.params, 1e-4) and close(runs1.archive, runs4.archive, 1e-4)
ckpt = Checkpointer("{tmp_path}/ckpt", asynchronous=False)
ckpt.save(1, runs4, {{}})
restored, _ = ckpt.restore(1, base_t.init(jax.vmap(jax.random.key)(jnp.arange(4))))
assert close(restored, runs4, 0.0)
on_one, _ = base_t.run_chunk(restored)
on_four, _ = runs_t.run_chunk(runs4)
assert close(on_one.members.params, on_four.members.params, 1e-4)
print("runs ok")
"""
    )
    assert "runs ok" in out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_hosts_write_one_run_directory_with_the_one_host_front(tmp_path):
    """`morl train --distributed` in two processes (2 CPU devices each, gloo between them)
    splits 4 seeds over the 4 devices; process 0 alone writes the run directory, whose
    front equals the single-process run's."""
    command = [sys.executable, "-m", "morl.cli", "train", "--seeds", "4", "--steps", "20000", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    single = subprocess.run([*command, "--out", str(tmp_path / "one")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert single.returncode == 0, single.stderr[-2000:]
    hosts = {
        **env,
        "JAX_COORDINATOR_ADDRESS": f"localhost:{_free_port()}",
        "JAX_NUM_PROCESSES": "2",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    procs = [
        subprocess.Popen(
            [*command, "--distributed", "--devices", "4", "--out", str(tmp_path / "two")],
            cwd=ROOT, env={**hosts, "JAX_PROCESS_ID": str(i)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
    one = (tmp_path / "one" / "front.csv").read_text()
    two = (tmp_path / "two" / "front.csv").read_text()
    assert one == two and one.count("\n") > 4
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
