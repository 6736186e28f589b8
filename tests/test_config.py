"""Typed experiment configs: YAML / Python files, dotted overrides, one-line errors."""

import dataclasses

import pytest
import yaml

import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import config
from morl.config import ConfigError, build
from tests.io.fake_trainer import FakeConfig


def test_defaults_and_dotted_overrides_are_typed():
    exp = build(
        {"algorithm": "fake"},
        [
            ("seed", "3"),
            ("log.checkpoint_every", "5"),
            ("step_size", "1e-3"),
            ("algo.ref_point", "0,-25"),
            ("total_steps", "1e4"),
        ],
    )
    assert exp.seed == 3 and isinstance(exp.seed, int)
    assert exp.log.checkpoint_every == 5
    assert exp.algo.step_size == pytest.approx(1e-3) and isinstance(exp.algo.step_size, float)
    assert exp.algo.ref_point == (0.0, -25.0)
    assert exp.algo.total_steps == 10_000 and isinstance(exp.algo.total_steps, int)
    assert exp.algo.pop == FakeConfig().pop  # untouched fields keep the dataclass default


def test_yaml_round_trip(tmp_path):
    exp = build({"algorithm": "fake", "num_seeds": 2, "algo": {"pop": 7, "ref_point": [1, 2]}})
    path = tmp_path / "exp.yaml"
    path.write_text(config.to_yaml(exp))
    data = yaml.safe_load(path.read_text())  # plain YAML, readable by anything
    assert data["algo"]["pop"] == 7 and data["algo"]["ref_point"] == [1.0, 2.0]
    again = build(config.load_file(path))
    assert again == exp
    assert config.first_difference(exp, again) is None


def test_yaml_1_1_float_strings_are_parsed(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("algorithm: fake\nalgo:\n  step_size: 1e-3\n")  # PyYAML reads '1e-3' as a string
    assert yaml.safe_load(path.read_text())["algo"]["step_size"] == "1e-3"
    assert build(config.load_file(path)).algo.step_size == pytest.approx(1e-3)


def test_python_config_file(tmp_path):
    path = tmp_path / "exp.py"
    path.write_text("from tests.io.fake_trainer import FakeConfig\nconfig = FakeConfig(pop=5, total_steps=300)\n")
    exp = build(config.load_file(path))
    assert exp.algorithm == "fake" and exp.algo.pop == 5 and exp.algo.total_steps == 300


@pytest.mark.parametrize(
    "overrides, culprit",
    [
        ([("algo.pops", "3")], "algo.pops"),
        ([("log.checkpoint_evry", "3")], "log.checkpoint_evry"),
        ([("pop", "three")], "algo.pop"),
        ([("pop", "2.5")], "algo.pop"),
        ([("log.tensorboard", "maybe")], "log.tensorboard"),
        ([("ref_point", "a,b")], "algo.ref_point"),
        ([("seed", True)], "seed"),
        ([("algorithm", "nope")], "nope"),
        ([("num_seeds", "0")], "num_seeds"),
        ([("grid.pop", ["1", "2"])], "grid key 'pop'"),
    ],
)
def test_bad_input_is_one_line_naming_the_culprit(overrides, culprit):
    with pytest.raises(ValueError) as info:
        build({"algorithm": "fake"}, overrides)
    message = str(info.value)
    assert culprit in message and "\n" not in message


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match="did you mean 'algo.pop'"):
        build({"algorithm": "fake", "algo": {"popp": 3}})


def test_grid_over_vmappable_field():
    exp = build({"algorithm": "fake"}, [("grid.step_size", ["0.1", "0.2"]), ("num_seeds", 3), ("seed", 10)])
    assert exp.grid == {"step_size": (0.1, 0.2)}
    runs = config.run_points(exp)
    assert len(runs) == 6
    assert runs[0] == (10, {"step_size": 0.1}) and runs[5] == (12, {"step_size": 0.2})


def test_experiment_is_frozen():
    exp = build({"algorithm": "fake"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.seed = 4  # type: ignore[misc]


def test_parse_assignment_errors_name_the_text():
    assert config.parse_assignment("ppo.lr = 3") == ("ppo.lr", "3")
    with pytest.raises(ConfigError, match="'nonsense'"):
        config.parse_assignment("nonsense")


@pytest.mark.parametrize("algorithm", ["morld", "cmorl"])
def test_every_field_is_reachable_through_set(algorithm):
    """Each leaf field, written as a command-line string (YAML flow style: lists in
    brackets, None as null), round-trips through `--set KEY=VALUE`."""
    fields = config.flatten(build({"algorithm": algorithm}))
    assert len(fields) > 40
    for key, value in fields.items():
        if key in ("algorithm", "grid"):
            continue
        text = yaml.safe_dump(value, default_flow_style=True).removesuffix("...\n").strip()
        assert config.flatten(build({"algorithm": algorithm}, [(key, text)]))[key] == value, (key, text)


def test_lists_of_lists_and_bracketed_lists_through_set():
    exp = build({"algorithm": "cmorl"}, [("pop_size", "2"), ("weight_init", "[[1,0],[0.5,0.5]]")])
    assert exp.algo.weight_init == ((1.0, 0.0), (0.5, 0.5))
    exp = build({"algorithm": "fake"}, [("ref_point", "(0,-25)"), ("grid.step_size", "[0.1,0.2]")])
    assert exp.algo.ref_point == (0.0, -25.0) and exp.grid == {"step_size": (0.1, 0.2)}
    assert build({"algorithm": "cmorl"}, [("weight_init", "onehot")]).algo.weight_init == "onehot"


def test_algorithm_presets_are_the_section_defaults():
    """A nested section's keys change the algorithm's preset, not the learner's defaults."""
    from morl.algorithms.cmorl import CMORL_PPO
    from morl.algorithms.morld import MORLD_PPO

    assert build({"algorithm": "morld"}).algo.ppo == MORLD_PPO
    assert build({"algorithm": "morld"}, [("ppo.num_envs", "4")]).algo.ppo == MORLD_PPO.replace(num_envs=4)
    cmorl = build({"algorithm": "cmorl", "algo": {"ppo": {"num_steps": 32}}}).algo
    assert cmorl.ppo == CMORL_PPO.replace(num_steps=32) and cmorl.ppo.num_minibatches == 32


RECORDED_CMORL = {  # C-MORL keys as configs written before the renames hold them
    "num_policies": 2, "init_weights": [[1.0, 0.0], [0.0, 1.0]], "eval_interval": 3, "buffer_size": 50,
    "extension_updates": 4, "extension_eval_interval": 2, "ppo": {"num_steps": 32, "max_eval_steps": 300},
}


def test_renamed_keys_still_load_with_a_one_line_warning(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"algorithm": "cmorl", "algo": RECORDED_CMORL}))
    with pytest.warns(config.ConfigDeprecationWarning) as caught:
        algo = build(config.load_file(path)).algo
    messages = [str(w.message) for w in caught]
    assert "config key 'algo.ppo.max_eval_steps' is deprecated, use 'algo.max_eval_steps'" in messages[-1]
    assert all("\n" not in m for m in messages) and len(messages) == 6
    assert (algo.pop_size, algo.eval_period, algo.archive_capacity, algo.extension_eval_period) == (2, 3, 50, 2)
    assert (algo.max_eval_steps, algo.ppo.num_steps, algo.ppo.num_epochs) == (300, 32, 10)
    renamed = {"pop_size": 2, "weight_init": [[1.0, 0.0], [0.0, 1.0]], "eval_period": 3, "archive_capacity": 50,
               "extension_updates": 4, "extension_eval_period": 2, "max_eval_steps": 300, "ppo": {"num_steps": 32}}
    assert build({"algorithm": "cmorl", "algo": renamed}).algo == algo


@pytest.mark.parametrize("algorithm", ["envelope", "gpi-ls"])
def test_value_based_eval_weights_is_read_as_num_eval_weights(algorithm):
    """One name across the weight-conditioned algorithms (CAPQL and conditioned PPO use
    `num_eval_weights`); a recorded `eval_weights` still loads, with the warning."""
    with pytest.warns(config.ConfigDeprecationWarning, match="use 'algo.num_eval_weights'"):
        old = build({"algorithm": algorithm, "algo": {"eval_weights": 17}}).algo
    assert old.num_eval_weights == 17
    assert old == build({"algorithm": algorithm}, [("num_eval_weights", "17")]).algo


def test_renamed_keys_through_set_and_grid(monkeypatch):
    with pytest.warns(config.ConfigDeprecationWarning, match="'algo.pop_size'"):
        assert build({"algorithm": "cmorl"}, [("num_policies", "3")]).algo.pop_size == 3
    with pytest.warns(config.ConfigDeprecationWarning, match="'algo.max_eval_steps'"):
        assert build({"algorithm": "cmorl"}, [("algo.ppo.max_eval_steps", "7")]).algo.max_eval_steps == 7
    # the later key wins whichever name it uses; both names in one file must agree
    raw = {"algorithm": "cmorl", "algo": {"pop_size": 4}}
    with pytest.warns(config.ConfigDeprecationWarning):
        assert build(raw, [("num_policies", "2")]).algo.pop_size == 2
    with pytest.warns(config.ConfigDeprecationWarning), pytest.raises(ConfigError, match="keep only 'algo.pop_size'"):
        build({"algorithm": "cmorl", "algo": {"pop_size": 4, "num_policies": 2}})
    monkeypatch.setattr(FakeConfig, "renamed", {"old_step": "step_size"}, raising=False)
    with pytest.warns(config.ConfigDeprecationWarning, match="'grid.step_size'"):
        assert build({"algorithm": "fake"}, [("grid.old_step", "0.1,0.2")]).grid == {"step_size": (0.1, 0.2)}
    with pytest.warns(config.ConfigDeprecationWarning):
        assert build({"algorithm": "fake", "grid": {"old_step": [0.3]}}).grid == {"step_size": (0.3,)}


def test_recorded_experiment_configs_still_load():
    """Every config.yaml a run of experiments/ recorded loads with today's names."""
    import warnings
    from pathlib import Path

    paths = sorted(Path(__file__).parents[1].glob("experiments/*/runs/*/config.yaml"))
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", config.ConfigDeprecationWarning)
            build(config.load_file(path))
