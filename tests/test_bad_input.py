"""Bad input at the CLI's boundary: one line `morl: error: ...` naming the culprit, exit
status 2, nothing written and nothing compiled, well under 15 s (issue 21). One
parametrised test per class: config values, config files, paths, `morl eval`, damaged
run directories for `plot` / `table`, sweep specs. Faults (damaged checkpoints, torn CSVs,
concurrent writers, signals) are in tests/test_faults.py."""

import json
import time

import jax.monitoring
import pytest

import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import cli, train_loop
from tests.io.fake_trainer import FakeTrainer

FAKE = ["fake", "--no-progress", "--steps", "300", "--set", "chunk_steps=100"]

_COMPILE_SECONDS: list[float] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **_: _COMPILE_SECONDS.append(seconds) if event.endswith("backend_compile_duration") else None
)


@pytest.fixture
def refused(tmp_path, capsys, monkeypatch):
    """`refused(argv, culprit)`: runs `morl argv`, checks the one-line error naming
    `culprit`, exit status 2, no training program started or compiled, and returns the
    message."""

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(train_loop, "run", never)
    monkeypatch.setattr(FakeTrainer, "init", never)

    def check(argv: list[str], culprit: str) -> str:
        capsys.readouterr()
        _COMPILE_SECONDS.clear()
        start = time.perf_counter()
        try:
            status = cli.main(argv)
        except SystemExit as exit_:  # argparse's own errors
            status = exit_.code
        elapsed = time.perf_counter() - start
        err = capsys.readouterr().err.strip()
        assert status == 2, err
        assert err.startswith("morl: error:") and "\n" not in err, err
        assert culprit in err, err
        assert "Traceback" not in err
        assert elapsed < 15 and sum(_COMPILE_SECONDS) < 1.0  # eager constants at most, no program
        return err

    return check


# --- config values ---------------------------------------------------------------------
TINY_CMORL = ["cmorl", "--set", "ppo.num_envs=2", "--set", "ppo.num_steps=16", "--set", "pop_size=2"]

VALUES = {
    "algorithm-typo": (["morldd"], "unknown algorithm 'morldd' (did you mean 'morld'?)"),
    "eval-gamma-zero": (["morld", "--set", "eval_gamma=0"], "MORLDConfig: eval_gamma=0.0 must lie in (0, 1]"),
    "lr-negative": (["morld", "--set", "ppo.learning_rate=-1"], "ppo.learning_rate=-1.0 must be > 0"),
    "lr-nan": (["morld", "--set", "ppo.learning_rate=nan"], "'algo.ppo.learning_rate' expects a finite number"),
    "gamma-above-1": (["morld", "--set", "ppo.gamma=1.01"], "ppo.gamma=1.01 must be in (0, 1]"),
    "num-envs-0": (["morld", "--set", "ppo.num_envs=0"], "ppo.num_envs=0"),
    "num-steps-0": (["morld", "--set", "ppo.num_steps=0"], "ppo.num_steps=0"),
    "minibatches-indivisible": (["morld", "--set", "ppo.num_minibatches=3"], "num_minibatches=3"),
    "hidden-negative": (["morld", "--set", "ppo.hidden_sizes=[64,-1]"], "ppo.hidden_sizes=(64, -1)"),
    "sac-tau": (["morld", "--set", "learner=sac", "--set", "sac.tau=2"], "sac.tau=2.0"),
    "grid-value": (["morld", "--grid", "ppo.learning_rate=-1,1e-3"], "grid key 'ppo.learning_rate' value -1.0"),
    "grid-nan": (["morld", "--grid", "ppo.gamma=0.9,nan"], "grid.ppo.gamma[1]"),
    "seed-beyond-64-bits": (["morld", "--seed", str(2**64)], "'seed' must lie in [0, 2147483647]"),
    "seed-negative": (["morld", "--seed", "-1"], "'seed' must lie in"),
    "seeds-past-the-range": (["morld", "--seed", str(2**31 - 2), "--seeds", "3"], "'num_seeds'=3"),
    "steps-absurd": (["morld", "--steps", str(10**14)], "total_steps=100,000,000,000,000 needs"),
    "steps-zero": (["morld", "--steps", "0"], "total_steps=0"),
    "ref-nan": (["morld", "--set", "ref_point=nan,0"], "'algo.ref_point[0]' expects a finite number"),
    "ref-inf": (["morld", "--set", "ref_point=-inf,0"], "'algo.ref_point[0]'"),
    "ref-too-long": (["morld", "--set", "ref_point=0,0,0"], "ref_point=(0.0, 0.0, 0.0) has 3 entries"),
    "ref-dominates-front": (["morld", "--set", "ref_point=100,-30"], "not dominated by any point"),
    "env-typo": (["morld", "--env", "deep-sea-treasur-v0"], "Did you mean deep-sea-treasure-v0"),
    "env-kwargs": (["morld", "--env", "fruit-tree-v0", "--set", "env_kwargs=dpth=6"], "dpth"),
    "literal": (["morld", "--set", "scalarization=tchebychev"], "tchebychev"),
    "unknown-key": (["morld", "--set", "ppo.learning_rat=1"], "did you mean 'algo.ppo.learning_rate'"),
    "unknown-top-key": (["morld", "--set", "seeed=1"], "did you mean 'seed'"),
    "archive-smaller": (["morld", "--set", "archive_capacity=2"], "archive_capacity=2"),
    "flush-negative": (["morld", "--set", "log.metrics_flush_s=-1"], "log.metrics_flush_s"),
    "keep-zero": (["morld", "--set", "log.keep_checkpoints=0"], "log.keep_checkpoints"),
    "int-not-int": (["fake", "--set", "pop=2.5"], "algo.pop"),
    "argparse-int": (["morld", "--devices", "1.5"], "--devices"),
    "cmorl-init-after-total": (
        [*TINY_CMORL, "--steps", "50000", "--set", "init_steps=60000"], "init_steps=60000 must be smaller"
    ),
    "cmorl-no-round": ([*TINY_CMORL, "--steps", "5000", "--set", "init_steps=1000"], "extension round"),
    "cmorl-weights-off-simplex": (
        [*TINY_CMORL, "--set", "weight_init=[[1,0],[0.5,0.6]]"], "weight_init[1] = [0.5, 0.6] is not on the simplex"
    ),
    "cmorl-weights-dimension": ([*TINY_CMORL, "--set", "weight_init=[[1,0,0],[0,1,0]]"], "vectors of length 3"),
    "cmorl-steps-absurd": ([*TINY_CMORL, "--steps", str(10**20)], "int32 counters hold at most 2,147,483,647"),
    "cmorl-grid-beta": ([*TINY_CMORL, "--grid", "beta=0.5,1.5"], "beta=[0.5, 1.5]"),
}  # fmt: skip


@pytest.mark.parametrize("argv, culprit", VALUES.values(), ids=VALUES.keys())
def test_bad_config_value(refused, tmp_path, argv, culprit):
    refused(["train", *argv, "--no-progress", "--out", str(tmp_path / "run")], culprit)
    assert not any(tmp_path.iterdir())


# --- config files ----------------------------------------------------------------------
FILES = {
    "empty": ("exp.yaml", "", "is empty"),
    "comments-only": ("exp.yaml", "# nothing yet\n", "is empty"),
    "duplicate-key": ("exp.yaml", "algorithm: fake\nseed: 1\nseed: 2\n", "duplicate key 'seed' (line 3)"),
    "duplicate-nested-key": ("exp.yaml", "algorithm: fake\nalgo:\n  pop: 2\n  pop: 3\n", "duplicate key 'pop'"),
    "unknown-key": ("exp.yaml", "algorithm: fake\nalgo:\n  popp: 3\n", "did you mean 'algo.pop'"),
    "unparsable": ("exp.yaml", "algorithm: fake\nalgo: [1, 2\n", "is not valid YAML"),
    "not-a-mapping": ("exp.yaml", "- fake\n", "must hold a mapping"),
    "not-utf8": ("exp.yaml", b"algorithm: \xff\xfe\n", "cannot be read"),
    "python-raises": ("exp.py", "config = 1 / 0\n", "failed: ZeroDivisionError"),
    "python-no-config": ("exp.py", "x = 1\n", "defines no variable 'config'"),
    "wrong-suffix": ("exp.json", "{}", "must end in .yaml"),
}


@pytest.mark.parametrize("name, text, culprit", FILES.values(), ids=FILES.keys())
def test_bad_config_file(refused, tmp_path, name, text, culprit):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    refused(["train", "--config", str(path), "--out", str(tmp_path / "run")], culprit)
    assert not (tmp_path / "run").exists()


def test_missing_config_file(refused, tmp_path):
    refused(["train", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "run")], "does not exist")
    refused(["train", "--config", str(tmp_path), "--out", str(tmp_path / "run")], "is a directory")


# --- paths -----------------------------------------------------------------------------
PATHS = {
    "out-empty": (["--out", ""], "--out is empty"),
    "out-blank": (["--out", "  "], "--out is empty"),
    "out-a-file": (["--out", "{tmp}/afile"], "is a file, not a directory"),
    "out-under-a-file": (["--out", "{tmp}/afile/run"], "is a file, not a directory"),
    "out-exists": (["--out", "{tmp}/old"], "already exists"),
    "resume-missing": (["--resume", "{tmp}/nothing"], "cannot resume"),
    "resume-a-file": (["--resume", "{tmp}/afile"], "afile"),
    "resume-other-out": (["--resume", "{tmp}/old", "--out", "{tmp}/elsewhere"], "name different run directories"),
}


@pytest.mark.parametrize("args, culprit", PATHS.values(), ids=PATHS.keys())
def test_bad_path(refused, tmp_path, args, culprit):
    (tmp_path / "afile").write_text("precious")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.yaml").write_text("algorithm: fake\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    refused(["train", *FAKE, *(a.format(tmp=tmp_path) for a in args)], culprit)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before and (tmp_path / "afile").read_text() == "precious"


# --- eval, plot, table on a finished run -------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run of the test double (module-scoped: made once)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli.main(["train", *FAKE, "--out", str(out)]) == 0
    assert cli.main(["eval", str(out)]) == 0
    return out


@pytest.mark.parametrize("args, culprit", [(["--episodes", "0"], "--episodes"), (["--seed", "-3"], "--seed")])
def test_bad_eval_leaves_eval_csv(refused, finished, args, culprit):
    before = (finished / "eval.csv").read_bytes()
    refused(["eval", str(finished), *args], culprit)
    assert (finished / "eval.csv").read_bytes() == before


DAMAGE = {
    "front-torn-row": ("front.csv", lambda t: t[: t.rindex(",")], "front.csv' line"),
    "front-no-header": ("front.csv", lambda t: "", "no CSV header"),
    "front-not-a-number": ("front.csv", lambda t: t.replace("\n0,", "\nzero,", 1), "column run holds 'zero'"),
    "metrics-missing-column": (
        "metrics.csv", lambda t: t.replace("env_steps", "steps", 1), "lacks column(s) env_steps"
    ),
    "config-empty": ("config.yaml", lambda t: "", "config.yaml' is empty"),
    "summary-garbled": ("summary.json", lambda t: t[:40], "summary.json' cannot be read"),
    "summary-wrong-shape": ("summary.json", lambda t: json.dumps({"runs": 3}), "summary.json' is damaged"),
}


@pytest.mark.parametrize("name, damage, culprit", DAMAGE.values(), ids=DAMAGE.keys())
def test_plot_and_table_on_a_damaged_run(refused, finished, tmp_path, name, damage, culprit):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / name).write_text(damage((run / name).read_text()))
    command = "table" if name == "summary.json" else "plot"
    refused([command, str(run), "--out", str(tmp_path / "fig.png")], culprit)
    assert not list(tmp_path.glob("fig*"))


# --- sweep specs -----------------------------------------------------------------------
def _spec(tmp_path, **changes):
    import yaml

    spec = {
        "name": "bad",
        "base": {"algorithm": "fake", "total_steps": 200, "chunk_steps": 100, "log.checkpoint_every": 0},
        "params": {"step_size": {"low": 0.0, "high": 2.0}},
        "n_trials": 2,
        "sampler": {"name": "random", "seed": 0},
        "dir": str(tmp_path / "sweep"),
    }
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


SPECS = {
    "low-above-high": ({"params": {"step_size": {"low": 2.0, "high": 1.0}}}, "low=2.0 must be below high=1.0"),
    "log-from-zero": ({"params": {"step_size": {"low": 0.0, "high": 1.0, "log": True}}}, "log=true needs low > 0"),
    "step-negative": ({"params": {"step_size": {"low": 0.0, "high": 1.0, "step": -0.1}}}, "step must be a positive"),
    "log-not-bool": ({"params": {"step_size": {"low": 0.1, "high": 1.0, "log": "yes"}}}, "log must be true or false"),
    "choices-empty": ({"params": {"pop": {"choices": []}}}, "non-empty list"),
    "range-invalid-for-algorithm": ({"params": {"pop": {"low": 0, "high": 4}}}, "sweep param 'pop'=0"),
    "choice-invalid": ({"params": {"pop": {"choices": [2, "many"]}}}, "algo.pop"),
    "n-trials-zero": ({"n_trials": 0}, "n_trials must be a positive integer, got 0"),
    "n-trials-text": ({"n_trials": "many"}, "n_trials must be a positive integer"),
    "base-invalid": ({"base": {"algorithm": "fake", "ref_point": [100, 100]}}, "not dominated"),
    "unknown-key-suggested": ({"n_trial": 3}, "did you mean 'n_trials'"),
}


@pytest.mark.parametrize("change, culprit", SPECS.values(), ids=SPECS.keys())
def test_bad_sweep_spec(refused, tmp_path, change, culprit):
    refused(["sweep", str(_spec(tmp_path, **change))], culprit)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    "text, culprit", [("", "is empty"), ("name: a\nname: b\n", "duplicate key 'name'")], ids=["empty", "duplicate"]
)
def test_bad_sweep_file(refused, tmp_path, text, culprit):
    (tmp_path / "spec.yaml").write_text(text)
    refused(["sweep", str(tmp_path / "spec.yaml")], culprit)


def test_bad_n_trials_flag(refused, tmp_path):
    refused(["sweep", str(_spec(tmp_path)), "--n-trials", "0"], "--n-trials must be a positive integer")


# --- everything reachable from the command line ------------------------------------------
def test_cmorl_weights_and_lists_through_set(capsys):
    import yaml

    argv = ["train", "cmorl", "--set", "pop_size=3", "--set", "weight_init=[[1,0],[0.5,0.5],[0,1]]"]
    argv += ["--set", "ref_point=(0,-25)", "--set", "ppo.hidden_sizes=[32,32]", "--print-config"]
    assert cli.main(argv) == 0
    algo = yaml.safe_load(capsys.readouterr().out)["algo"]
    assert algo["weight_init"] == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    assert algo["ref_point"] == [0.0, -25.0] and algo["ppo"]["hidden_sizes"] == [32, 32]
    assert cli.main(["train", "cmorl", "--set", "weight_init=onehot", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["algo"]["weight_init"] == "onehot"


def test_help_documents_the_value_syntax(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "weight_init=[[1,0],[0.5,0.5],[0,1]]" in text and "0,-25 or [0,-25]" in text


@pytest.mark.parametrize(
    "argv, warning",
    [
        ([*FAKE, "--steps", str(10**12)], "total_steps=1,000,000,000,000 x 1 run(s) = 1,000,000,000,000 env steps"),
        (["morld", "--steps", "100"], "total_steps=100 is below one chunk (10 iterations x 8,192 env steps)"),
        (["morld", "--steps", "100000", "--set", "eval_period=50"], "fewer than eval_period=50"),
    ],
    ids=["eta", "below-a-chunk", "no-evaluation"],
)
def test_budgets_that_run_but_surprise_are_warned(tmp_path, capsys, monkeypatch, argv, warning):
    monkeypatch.setattr(train_loop, "run", lambda job, **_: job.lock.release())
    monkeypatch.setattr(cli, "_print_summary", lambda summary: None)
    assert cli.main(["train", *argv, "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("morl: warning: ") and warning in err
    if "x 1 run(s)" in warning:
        assert "about 2 years" in err  # at 15,000 env steps/s
