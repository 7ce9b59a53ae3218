"""Tests for diffedu.learnability: cells, training-set statistics, the ERM over classes and nets."""

import math

import pytest
import torch

import diffedu
from diffedu.learnability import (
    CellStatistics,
    _cell_index,
    cell_statistics,
    cells_with_mass,
    finite_class_erm,
    grid_class_erm,
    jackknife_rates,
    samples_needed,
)

MIX = diffedu.GaussianMixture([0.3, 0.7], [-2.0, 1.0], [0.25, 0.5])
WIDE = diffedu.GaussianMixture([1.0], [[0.0]], [400.0])


def test_cells_have_the_asked_masses():
    """Consecutive cells carry exactly the masses asked for under the 1-D distribution function."""
    t = 0.3
    cells = cells_with_mass(MIX, t, [0.1, 0.05, 0.2], start=0.2)
    for cell, mass in zip(cells, [0.1, 0.05, 0.2], strict=True):
        cdf = MIX.cdf(torch.tensor([cell.lo, cell.hi], dtype=torch.float64), t)
        assert float(cdf[1] - cdf[0]) == pytest.approx(mass, abs=1e-10)
    assert all(a.hi == b.lo for a, b in zip(cells[:-1], cells[1:], strict=True))
    assert cells_with_mass(MIX, t, [0.3])[0].lo == -math.inf
    assert cells_with_mass(MIX, t, [0.3], start=0.7)[0].hi == math.inf


def test_slab_mass_in_two_dimensions():
    """A slab on the first coordinate of a 2-D mixture has its mass (binomial band, 5 SE)."""
    target = diffedu.GaussianMixture([0.5, 0.5], [[-1.0, 2.0], [1.0, -1.0]], [0.3, 0.6])
    g, n, t = torch.Generator().manual_seed(0), 400_000, 0.2
    cell = cells_with_mass(target, t, [0.15], start=0.4)[0]
    x = target.sample(n, t, generator=g)
    frac = float(((x[:, 0] >= cell.lo) & (x[:, 0] < cell.hi)).double().mean())
    assert abs(frac - 0.15) < 5 * math.sqrt(0.15 * 0.85 / n)


def test_cell_index_matches_a_loop_over_cells():
    """The searchsorted index equals membership tested cell by cell, unsorted cells included."""
    cells = (
        diffedu.Interval(0.5, 1.0),
        diffedu.Interval(-math.inf, -1.0),
        diffedu.Interval(1.0, 2.0),
    )
    x = torch.linspace(-3.0, 3.0, 601, dtype=torch.float64)
    expected = torch.full_like(x, 3, dtype=torch.long)
    for k, c in enumerate(cells):
        expected[(x >= c.lo) & (x < c.hi)] = k
    assert torch.equal(_cell_index(x, cells), expected)
    with pytest.raises(ValueError, match="disjoint"):
        _cell_index(x, (diffedu.Interval(0.0, 1.0), diffedu.Interval(0.5, 2.0)))


def test_statistics_are_counts_and_gaussian_sums():
    """K_k ~ Binomial(m, p) in mean, and S_k / sqrt(K_k) ~ N(0, rho^2) for Gaussian data."""
    g, t, trials, m, mass = torch.Generator().manual_seed(1), 0.05, 4000, 200, 0.1
    stats = cell_statistics(
        WIDE, t, cells_with_mass(WIDE, t, [mass], 0.3), [50, m], trials, generator=g
    )
    k, s = stats.counts[:, -1, 0], stats.sums[:, -1, 0]
    assert bool((stats.counts[:, 1] >= stats.counts[:, 0]).all()), "prefixes must be nested"
    assert abs(float(k.mean()) - m * mass) < 5 * math.sqrt(m * mass * (1 - mass) / trials)
    a2 = math.exp(-2 * t) * 400.0
    rho2 = a2 / (a2 + float(diffedu.ou_sigma(t)) ** 2)
    scaled = s[k > 0] / k[k > 0].sqrt()
    # The sample variance of n normals has standard error rho^2 sqrt(2 / n); 5 of them.
    assert abs(float(scaled.var()) - rho2) < 5 * rho2 * math.sqrt(2 / scaled.numel())


def test_statistics_are_reproducible_and_chunked_draws_agree_in_law():
    """The same generator gives the same statistics; small chunks give the same mean count."""
    cells = cells_with_mass(MIX, 0.1, [0.2, 0.1])
    a = cell_statistics(MIX, 0.1, cells, [5, 40], 30, generator=torch.Generator().manual_seed(4))
    b = cell_statistics(MIX, 0.1, cells, [5, 40], 30, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.counts, b.counts) and torch.equal(a.sums, b.sums)
    c = cell_statistics(
        MIX, 0.1, cells, [40], 3000, generator=torch.Generator().manual_seed(5), max_points=40
    )
    # K ~ Binomial(40, 0.2) in the first cell: 5 standard errors of its mean over 3000 trials.
    assert abs(float(c.counts[:, 0, 0].mean()) - 8.0) < 5 * math.sqrt(40 * 0.2 * 0.8 / 3000)


def test_finite_class_erm_agrees_with_algorithm_1_on_the_full_loss():
    """On explicit training pairs, the centred statistics pick what erm_select picks on eq. (4)."""
    g, t, trials, m = torch.Generator().manual_seed(2), 0.1, 400, 40
    sigma_t = float(diffedu.ou_sigma(t))
    cells = cells_with_mass(MIX, t, [0.05, 0.1], start=0.4)
    z = sigma_t * torch.randn(trials, m, 1, generator=g, dtype=torch.float64)
    x_t = math.exp(-t) * MIX.sample(trials * m, generator=g).reshape(trials, m, 1) + z
    offsets = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -2.0], [0.5, 0.7]], dtype=torch.float64)

    def candidate(j):
        def score(x):
            out = MIX.score(x, t).clone()
            for k, cell in enumerate(cells):
                out[(x[:, 0] >= cell.lo) & (x[:, 0] < cell.hi)] += offsets[j, k] / sigma_t
            return out

        return score

    full = diffedu.erm_select([candidate(j) for j in range(4)], x_t, z, sigma_t, generator=g)
    index = _cell_index(x_t[..., 0], cells)
    xi = diffedu.centred_noise(MIX, t, x_t, z)
    counts = torch.stack([(index == k).double().sum(1) for k in range(2)], -1)[:, None]
    sums = torch.stack([((index == k).double() * xi).sum(1) for k in range(2)], -1)[:, None]
    stats = CellStatistics(torch.tensor([m]), counts, sums)
    picked = finite_class_erm(offsets, stats, generator=g)[:, 0]
    gaps = (counts @ (offsets**2).T + 2 * sums @ offsets.T)[:, 0] / (m * sigma_t**2)
    assert torch.allclose(gaps, (full.losses - full.losses[0]).T, atol=1e-10)
    untied = ~full.tied
    assert int(untied.sum()) > trials // 2 and torch.equal(picked[untied], full.index[untied])


def test_finite_class_erm_breaks_ties_uniformly():
    """Three candidates with empty cells tie with the true score: each picked about 1/4."""
    trials = 20_000
    zeros = torch.zeros(trials, 1, 3, dtype=torch.float64)
    stats = CellStatistics(torch.tensor([10]), zeros, zeros)
    offsets = torch.cat([torch.zeros(1, 3), torch.eye(3)]).double()
    picked = finite_class_erm(offsets, stats, generator=torch.Generator().manual_seed(3))
    freq = torch.bincount(picked.flatten(), minlength=4).double() / trials
    assert float((freq - 0.25).abs().max()) < 5 * math.sqrt(0.25 * 0.75 / trials)


def test_grid_class_erm_is_the_argmin_over_the_net():
    """Per cell, the net value minimising K theta^2 + 2 theta S, found by brute force."""
    g = torch.Generator().manual_seed(5)
    counts = torch.randint(1, 20, (50, 2, 3), generator=g).double()
    sums = 3.0 * torch.randn(50, 2, 3, generator=g, dtype=torch.float64) * counts.sqrt()
    step, bound = 0.3, 2.0
    theta = grid_class_erm(CellStatistics(torch.tensor([5, 9]), counts, sums), step, bound)
    net = step * torch.arange(-6, 7, dtype=torch.float64)  # floor(2.0 / 0.3) = 6
    loss = counts[..., None] * net**2 + 2 * sums[..., None] * net
    assert torch.allclose(theta, net[loss.argmin(-1)])


def test_grid_class_erm_draws_empty_cells_uniformly():
    """An empty cell gets each of the 2 floor(Theta / tau) + 1 net values with equal frequency."""
    zeros = torch.zeros(30_000, 1, 1, dtype=torch.float64)
    stats = CellStatistics(torch.tensor([3]), zeros, zeros)
    theta = grid_class_erm(stats, 0.5, 1.0, generator=torch.Generator().manual_seed(6))
    freq = torch.stack([(theta == v).double().mean() for v in (-1.0, -0.5, 0.0, 0.5, 1.0)])
    assert float(freq.sum()) == 1.0
    assert float((freq - 0.2).abs().max()) < 5 * math.sqrt(0.2 * 0.8 / 30_000)


def test_jackknife_rates_leave_one_group_out():
    """Row g is the mean over the trials outside block g."""
    failure = torch.rand(23, 4, generator=torch.Generator().manual_seed(7)) < 0.3
    rows = jackknife_rates(failure, 5)
    block = torch.arange(23) * 5 // 23
    for g in range(5):
        assert torch.allclose(rows[g], failure[block != g].double().mean(0))


def test_samples_needed_interpolates_the_crossing():
    """Log m is interpolated linearly in the rate; nan without a crossing; m[0] if already low."""
    m = torch.tensor([10.0, 20.0, 40.0])
    assert samples_needed(m, torch.tensor([0.5, 0.1, 0.0]), 0.05) == pytest.approx(
        math.exp(math.log(20) + 0.5 * math.log(2))
    )
    assert math.isnan(samples_needed(m, torch.tensor([0.5, 0.4, 0.3]), 0.05))
    assert samples_needed(m, torch.tensor([0.01, 0.0, 0.0]), 0.05) == 10.0
    failures = torch.tensor([[True, False, False], [True, True, False]])
    assert samples_needed(m, failures, 0.5) == pytest.approx(20.0)


def test_bad_input():
    cells = cells_with_mass(MIX, 0.1, [0.1])
    with pytest.raises(ValueError, match="masses"):
        cells_with_mass(MIX, 0.1, [])
    with pytest.raises(ValueError, match="start"):
        cells_with_mass(MIX, 0.1, [0.6], start=0.5)
    with pytest.raises(TypeError, match="cells"):
        cell_statistics(MIX, 0.1, [(0.0, 1.0)], [10], 5)
    with pytest.raises(ValueError, match="m_grid"):
        cell_statistics(MIX, 0.1, cells, [10, 5], 5)
    stats = cell_statistics(MIX, 0.1, cells, [10], 5)
    with pytest.raises(ValueError, match="offsets"):
        finite_class_erm(torch.zeros(2, 3), stats)
    with pytest.raises(TypeError, match="stats"):
        finite_class_erm(torch.zeros(2, 1), (1, 2))
    with pytest.raises(ValueError, match="step and bound"):
        grid_class_erm(stats, 2.0, 1.0)
    with pytest.raises(ValueError, match="groups"):
        jackknife_rates(torch.zeros(3, 2), 4)
    with pytest.raises(ValueError, match="rates"):
        samples_needed([1, 2], [0.1], 0.05)
