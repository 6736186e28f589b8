"""Front and curve figures: the right panels for each number of objectives, spread over
seeds computed as numpy does, files that are real PNG / PDF documents."""

import numpy as np
import pytest

from morl.io import plots


def _front(m, n=12, seed=0):
    points = np.random.default_rng(seed).dirichlet(np.ones(m), n)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.mark.parametrize("m, panels", [(2, 1), (3, 1), (4, 16)])
def test_front_figure_panels(tmp_path, m, panels):
    series = [("a", _front(m)), ("b", _front(m, seed=1))]
    figure = plots.front_figure(series, true_front=_front(m, 30, seed=2), title="t")
    assert len(figure.axes) == panels
    if m == 3:
        assert figure.axes[0].name == "3d"
    written = plots.save(figure, tmp_path / "front.png")
    assert [p.name for p in written] == ["front.png", "front.pdf"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and written[1].read_bytes()[:5] == b"%PDF-"


def test_parallel_coordinates_scale_each_axis(tmp_path):
    front = np.array([[0.0, 10.0, -5.0, 1.0], [1.0, 30.0, -1.0, 1.0]])
    figure = plots.parallel_figure([("a", front)])
    lines = [line.get_ydata() for line in figure.axes[0].get_lines()]
    np.testing.assert_allclose(lines, [[0, 0, 0, 0], [1, 1, 1, 0]])  # constant objective -> 0


def test_mean_and_spread_matches_numpy_on_shared_steps():
    steps = np.array([100, 200, 300])
    a, b, c = np.array([1.0, 2.0, 4.0]), np.array([3.0, 2.0, 0.0]), np.array([2.0, np.nan, 5.0])
    grid, mean, std = plots.mean_and_spread([(steps, a), (steps, b), (steps, c)])
    np.testing.assert_array_equal(grid, steps)
    # seed c has no value at step 200: it is interpolated between its neighbours (3.5)
    full = np.stack([a, b, [2.0, 3.5, 5.0]])
    np.testing.assert_allclose(mean, full.mean(axis=0))
    np.testing.assert_allclose(std, full.std(axis=0))


def test_mean_and_spread_keeps_the_common_range():
    seeds = [(np.array([0, 10, 20]), np.array([0.0, 1.0, 2.0])), (np.array([5, 15]), np.array([1.0, 1.0]))]
    grid, mean, _ = plots.mean_and_spread(seeds)
    np.testing.assert_array_equal(grid, [5, 10, 15])
    np.testing.assert_allclose(mean, [(0.5 + 1) / 2, 1.0, (1.5 + 1) / 2])


def test_curves_figure_draws_band_only_for_several_seeds():
    steps = np.arange(1, 4) * 100.0
    seeds = [(steps, {"hypervolume": steps * k, "expected_utility": -steps}) for k in (1.0, 2.0)]
    figure = plots.curves_figure([("two seeds", seeds), ("one seed", seeds[:1])])
    hv = figure.axes[0]
    assert len(hv.get_lines()) == 2 and len(hv.collections) == 1


def test_mismatched_objectives_are_refused():
    with pytest.raises(ValueError, match="different numbers of objectives"):
        plots.front_figure([("a", _front(2)), ("b", _front(3))])
