import os

import pytest
import torch
import torch.utils.data as tud
from scipy.stats import chisquare

from torch_geometric_negsamp._random import (
    SeededStream,
    draw_from_cdf,
    group_shuffle,
    gumbel,
    make_generator,
    mix_seed,
    process_generator,
    process_key,
    quantize_log_weights,
    quantize_weights,
    randint,
    randint_below,
    randint_below_wide,
    randperm,
    sample_ranks,
    uniform,
)


def test_uniform_and_integers_are_seeded_and_in_range():
    gen = torch.Generator().manual_seed(0)
    u = uniform(1000, 'cpu', gen)
    assert u.dtype == torch.float64 and bool(((u >= 0) & (u < 1)).all())
    high = torch.tensor([1, 2, 3, 2**53])
    for _ in range(50):
        x = randint_below(high, gen)
        assert bool(((x >= 0) & (x < high)).all())
    a = randint(7, 100, 'cpu', torch.Generator().manual_seed(5))
    b = randint(7, 100, 'cpu', torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and set(a.tolist()) == set(range(7))


def test_randint_is_uniform():
    gen = torch.Generator().manual_seed(1)
    x = randint(5, 50000, 'cpu', gen)
    _, pvalue = chisquare(torch.bincount(x, minlength=5).numpy())
    assert pvalue > 1e-4


def test_wide_draws_reach_beyond_2_to_the_53():
    gen = torch.Generator().manual_seed(2)
    high = torch.full((4000,), 2**61 + 3)
    x = randint_below_wide(high, gen)
    assert bool(((x >= 0) & (x < high)).all())
    # The low bits are used: a float64 draw alone would leave them zero.
    assert len(set((x % 1024).tolist())) > 900
    small = randint_below_wide(torch.tensor([3, 4]), gen)
    assert bool((small < torch.tensor([3, 4])).all())


def test_permutations_and_group_shuffle():
    gen = torch.Generator().manual_seed(3)
    assert sorted(randperm(10, 'cpu', gen).tolist()) == list(range(10))
    seg = torch.tensor([2, 0, 1, 0, 2, 2])
    order, pos = group_shuffle(seg, 3, gen)
    assert seg[order].tolist() == [0, 0, 1, 2, 2, 2]
    assert pos.tolist() == [0, 1, 0, 0, 1, 2]


def test_gumbel_is_finite():
    g = gumbel((10000,), 'cpu', torch.Generator().manual_seed(4))
    assert g.dtype == torch.float32 and bool(torch.isfinite(g).all())
    assert abs(float(g.mean()) - 0.5772) < 0.05  # Euler-Mascheroni


def test_quantized_weights_keep_ratios_and_zeros():
    w = torch.tensor([0.0, 1.0, 3.0, 1e-300], dtype=torch.float64)
    units = quantize_weights(w)
    assert units.dtype == torch.long and units[0] == 0
    assert int(units[3]) == 1  # positive weights stay drawable
    assert abs(int(units[2]) / int(units[1]) - 3.0) < 1e-12
    assert int(units.sum()) <= 2**53
    huge = quantize_weights(torch.full((4,), 1e308, dtype=torch.float64))
    assert len(set(huge.tolist())) == 1
    logw = torch.tensor([float('-inf'), 1e6, 1e6 - 1.0])
    units = quantize_log_weights(logw)
    assert units[0] == 0 and units[1] > units[2] > 0
    for bad, match in (
        (torch.tensor([1.0, float('nan')]), 'must be finite'),
        (torch.tensor([-1.0]), 'must be non-negative'),
        (torch.zeros(2), 'must have a positive entry'),
        (torch.zeros(0), 'must not be empty'),
    ):
        with pytest.raises(ValueError, match=match):
            quantize_weights(bad, 'w')
    with pytest.raises(ValueError, match="'w' must be finite"):
        quantize_log_weights(torch.tensor([float('inf')]), 'w')
    with pytest.raises(ValueError, match="'w' must have a positive entry"):
        quantize_log_weights(torch.tensor([float('-inf')]), 'w')


def test_draw_from_cdf_follows_the_units_and_skips_zeros():
    units = torch.tensor([0, 2, 0, 5, 3])
    gen = torch.Generator().manual_seed(6)
    x = draw_from_cdf(units.cumsum(0), 20000, gen)
    count = torch.bincount(x, minlength=5)
    assert count[0] == 0 and count[2] == 0
    _, pvalue = chisquare(count[[1, 3, 4]].numpy(), [4000, 10000, 6000])
    assert pvalue > 1e-4


def test_generators_and_seed_mixing():
    assert make_generator(None, None) is None
    assert make_generator(3, None).initial_seed() == 3
    gen = torch.Generator()
    assert make_generator(None, gen) is gen
    with pytest.raises(ValueError, match="at most one of 'seed' and"):
        make_generator(1, gen)
    with pytest.raises(TypeError, match="'generator' must be"):
        make_generator(None, 'g')
    assert mix_seed(1, 2) == mix_seed(1, 2) != mix_seed(2, 1)
    assert 0 <= mix_seed(-5, 2**70) < 2**63


# ------------------------------------------------------ per-process streams
class _Info:
    def __init__(self, seed):
        self.seed, self.id = seed, seed


def _in_worker(monkeypatch, worker_seed):
    monkeypatch.setattr(tud, 'get_worker_info', lambda: _Info(worker_seed))


def test_process_key_names_the_process_and_the_worker(monkeypatch):
    assert process_key() == (os.getpid(), None)
    _in_worker(monkeypatch, 17)
    assert process_key() == (os.getpid(), 17)


def test_main_process_uses_the_seed_or_the_generator_itself():
    assert process_generator(None, None) is None
    gen = torch.Generator().manual_seed(5)
    assert process_generator(None, gen) is gen
    a = torch.rand(4, generator=process_generator(5, None))
    b = torch.rand(4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize('given', ['seed', 'generator'])
def test_workers_get_distinct_reproducible_streams(monkeypatch, given):
    def draw(worker_seed):
        _in_worker(monkeypatch, worker_seed)
        if given == 'seed':
            gen = process_generator(3, None)
        else:
            gen = process_generator(None, torch.Generator().manual_seed(3))
        return torch.rand(8, generator=gen)

    w0, w1, w0_again = draw(100), draw(101), draw(100)
    assert not torch.equal(w0, w1)
    assert torch.equal(w0, w0_again)
    # A worker's stream is the one mix_seed names, not the main process's:
    expected = torch.Generator().manual_seed(mix_seed(3, 100))
    assert torch.equal(w0, torch.rand(8, generator=expected))
    monkeypatch.undo()
    main = torch.rand(8, generator=process_generator(3, None))
    assert not torch.equal(w0, main)


class _Component(SeededStream):
    def __init__(self, seed=None, generator=None):
        self.seed, self.generator = seed, generator


def test_seeded_stream_keeps_one_generator_per_process(monkeypatch):
    assert _Component().get_generator() is None
    component = _Component(seed=3)
    gen = component.get_generator()
    assert component.get_generator() is gen  # the stream continues
    first = torch.rand(4, generator=gen)
    _in_worker(monkeypatch, 100)
    assert component.get_generator() is not gen  # a worker derives its own
    monkeypatch.undo()
    again = torch.rand(4, generator=component.reseed(3).get_generator())
    assert torch.equal(first, again)
    with pytest.raises(TypeError, match="'seed' must be an int"):
        component.reseed('3')


def test_sample_ranks_without_replacement_is_a_uniform_ordered_subset():
    # size 5, num 2: each of the 20 ordered pairs of distinct ranks has
    # probability 1/20; Floyd's order without the final shuffle would put
    # rank 4 in the last slot more often than in the first.
    n = 20000
    gen = torch.Generator().manual_seed(0)
    out = sample_ranks(torch.full((n,), 5), 2, gen)
    assert out.shape == (n, 2) and bool((out[:, 0] != out[:, 1]).all())
    assert bool(((out >= 0) & (out < 5)).all())
    counts = torch.bincount(out[:, 0] * 5 + out[:, 1], minlength=25)
    pairs = counts.view(5, 5)
    assert bool((pairs.diagonal() == 0).all())
    observed = pairs[~torch.eye(5, dtype=torch.bool)].numpy()
    assert chisquare(observed).pvalue > 1e-3
    # Exactly num = size: a permutation of every rank.
    full = sample_ranks(torch.full((50,), 4), 4, gen)
    assert bool((full.sort(1).values == torch.arange(4)).all())


def test_sample_ranks_with_replacement_and_empty_rows():
    gen = torch.Generator().manual_seed(1)
    size = torch.tensor([3, 0, 7, 1])
    out = sample_ranks(size.repeat(3000), 5, gen).view(3000, 4, 5)
    assert bool((out[:, 1] == -1).all())  # an empty row: -1 everywhere
    assert bool((out[:, 3] == 0).all())  # one member: drawn every time
    short = out[:, 0].reshape(-1)  # 3 < 5: with replacement, uniform
    assert bool(((short >= 0) & (short < 3)).all())
    assert bool((out[:, 0, 0] == out[:, 0, 1]).any())  # repeats happen
    assert chisquare(torch.bincount(short, minlength=3).numpy()).pvalue > 1e-3
    long = out[:, 2]  # 7 >= 5: distinct
    assert bool((long.sort(1).values.diff(dim=1) > 0).all())
    assert chisquare(torch.bincount(long.reshape(-1)).numpy()).pvalue > 1e-3


def test_sample_ranks_is_seeded_and_handles_nothing():
    size = torch.tensor([10, 2, 0])
    a = sample_ranks(size, 3, torch.Generator().manual_seed(7))
    b = sample_ranks(size, 3, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert sample_ranks(torch.zeros(0, dtype=torch.long), 3).shape == (0, 3)
    assert sample_ranks(size, 0).shape == (3, 0)
    # Large ranges stay exact (no float rounding up to the size).
    big = sample_ranks(torch.tensor([2**53]), 3, torch.Generator())
    assert bool(((big >= 0) & (big < 2**53)).all())
