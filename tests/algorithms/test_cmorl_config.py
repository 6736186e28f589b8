"""C-MORL config validation (clear one-line errors before anything compiles) and the budget."""

import math
import time

import numpy as np
import pytest

from morl.algorithms.cmorl.config import CMORL_PPO
from morl.algorithms.cmorl import CMORLConfig, make_trainer


@pytest.mark.parametrize("beta", [0.0, 1.0, 1.5, -0.1])
def test_beta_outside_open_unit_interval(beta):
    with pytest.raises(ValueError, match=rf"beta={beta!r}"):
        CMORLConfig(beta=beta)


@pytest.mark.parametrize("t", [0.0, -1.0, math.inf])
def test_barrier_t_must_be_positive(t):
    with pytest.raises(ValueError, match="barrier_t"):
        CMORLConfig(barrier_t=t)


def test_reference_point_dimension_checked_before_compiling():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"ref_point=\(0.0, -25.0, 1.0\) has 3 entries; deep-sea-treasure-v0 has 2"):
        make_trainer(CMORLConfig(env="deep-sea-treasure-v0", ref_point=(0.0, -25.0, 1.0)))
    assert time.perf_counter() - start < 5.0  # no compilation happened


def test_hparams_beta_checked_per_run():
    with pytest.raises(ValueError, match=r"beta=\[0.5, 1.2000000476837158\]"):
        make_trainer(CMORLConfig(), num_runs=2, hparams={"beta": [0.5, 1.2]})
    with pytest.raises(ValueError, match="not vmappable"):
        make_trainer(CMORLConfig(), num_runs=2, hparams={"archive_capacity": [1, 2]})


def test_other_bad_values():
    with pytest.raises(ValueError, match="constraint='penalty'"):
        CMORLConfig(constraint="penalty")
    with pytest.raises(ValueError, match="extension_optimizer='keep'"):
        CMORLConfig(extension_optimizer="keep")
    with pytest.raises(ValueError, match="extension_eval_period=3 must be None or a positive divisor of "
                                         "extension_updates=20"):
        CMORLConfig(extension_eval_period=3)
    with pytest.raises(ValueError, match="init_steps=10 must be smaller than total_steps=10"):
        CMORLConfig(init_steps=10, total_steps=10)
    with pytest.raises(ValueError, match="pop_size=7 must equal the 3 objectives"):
        make_trainer(CMORLConfig(env="resource-gathering-v0", ref_point=(0, 0, 0), pop_size=7, weight_init="onehot",
                                 total_steps=2_000_000))
    with pytest.raises(ValueError, match="no conventional reference point"):
        make_trainer(CMORLConfig(env="mo-reacher-v5", total_steps=5_000_000))


def test_explicit_init_weights():
    weights = ((1, 0, 0), (0, 0.5, 0.5))
    config = CMORLConfig(env="minecart-v0", ref_point=(-1, -1, -200), pop_size=2, weight_init=weights,
                         extension_updates=5)
    np.testing.assert_array_equal(make_trainer(config).weights, np.asarray(weights, np.float32))
    with pytest.raises(ValueError, match="weight_init gives 1 vectors; pop_size=2"):
        CMORLConfig(pop_size=2, weight_init=((1.0, 0.0),))
    with pytest.raises(ValueError, match=r"weight_init\[1\] = \[0.5, 0.6\] is not on the simplex"):
        CMORLConfig(pop_size=2, weight_init=((1, 0), (0.5, 0.6)))
    with pytest.raises(ValueError, match="weight_init has vectors of length 2; minecart-v0 has 3"):
        make_trainer(CMORLConfig(env="minecart-v0", ref_point=(-1, -1, -200), pop_size=2,
                                 weight_init=((1, 0), (0, 1))))
    with pytest.raises(ValueError, match="weight_init='grid'"):
        CMORLConfig(weight_init="grid")


def test_budget_by_hand():
    # 6 policies x 10 updates x (8 x 128) steps per eval interval; 200k -> 3 intervals
    # (184320 steps); a barrier round = (5 x 2 problems x 20 updates + 5 probes) x 1024.
    cfg = CMORLConfig(total_steps=500_000, init_steps=200_000)
    b = cfg.budget(2)
    assert (b.init_chunks, b.init_updates, b.init_steps) == (3, 30, 184_320)
    assert b.extension_rounds == (500_000 - 184_320) // (205 * 1024)
    assert b.total_steps == 184_320 + b.extension_rounds * 205 * 1024
    lagrangian = CMORLConfig(env="minecart-v0", constraint="lagrangian", total_steps=2_000_000)
    assert lagrangian.budget(3).problems_per_round == 18  # n_select 6 for m=3
    with pytest.raises(ValueError, match="less than one extension round"):
        CMORLConfig(total_steps=250_000, init_steps=200_000, ppo=CMORL_PPO.replace(num_envs=8, num_steps=128)).budget(2)


def test_entropy_schedule_spans_the_init_stage():
    ppo = CMORL_PPO.replace(ent_coef=0.01, ent_schedule="linear")
    cfg = CMORLConfig(total_steps=500_000, init_steps=200_000, ppo=ppo)
    ppo_config = cfg.ppo.ppo_config(cfg.eval_gamma, cfg.max_eval_steps, cfg.budget(2).init_updates)
    assert (ppo_config.ent_schedule, ppo_config.total_updates) == ("linear", 30)  # 3 intervals x 10 updates
    with pytest.raises(ValueError, match="ent_schedule"):
        CMORLConfig(ppo=CMORL_PPO.replace(ent_schedule="cosine"))


def test_bad_ppo_section_value_named():
    with pytest.raises(ValueError, match="CMORLConfig.ppo: .*num_minibatches=3"):
        CMORLConfig(ppo=CMORL_PPO.replace(num_envs=8, num_steps=128, num_minibatches=3))
    with pytest.raises(ValueError, match="learning_rate"):
        CMORLConfig(ppo=CMORL_PPO.replace(learning_rate=-1.0))


def test_minecart_yaml_is_the_results_table_setting():
    """`morl train --config experiments/cmorl/minecart.yaml` must run the row's setting."""
    import importlib.util
    from pathlib import Path

    from morl import config

    root = Path(__file__).resolve().parents[2] / "experiments" / "cmorl"
    spec = importlib.util.spec_from_file_location("cmorl_settings", root / "settings.py")
    settings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(settings)
    experiment = config.build(config.load_file(root / "minecart.yaml"))
    assert experiment.algorithm == "cmorl" and experiment.num_seeds == 5
    assert experiment.algo == settings.SETTINGS["minecart-v0"]
