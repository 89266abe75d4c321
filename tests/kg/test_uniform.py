import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_negsamp.kg import UniformCorruption
from torch_geometric_negsamp.sampler import UnsatisfiableError

# Rows head, relation, tail: (0, 0, 1), (0, 0, 2), (0, 0, 3), (1, 1, 4) ...
TRIPLES = torch.tensor(
    [[0, 0, 0, 1, 2, 3], [0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 4, 4]]
)


def _triple(h, r, t):
    return torch.tensor([[h], [r], [t]])


N = 6000


def test_each_side_with_probability_one_half_and_uniform_replacement():
    corruption = UniformCorruption(N, seed=0).fit(TRIPLES, num_entities=6)
    neg = corruption.sample(_triple(0, 0, 1))
    num_head = int(neg.head_replaced.sum())
    assert chisquare([num_head, N - num_head]).pvalue > 1e-3
    # (e, 0, 1) is known for e = 0 only; (0, 0, e) for e = 1, 2, 3.
    heads = neg.head[neg.head_replaced]
    tails = neg.tail[~neg.head_replaced]
    assert (neg.tail[neg.head_replaced] == 1).all()
    assert (neg.head[~neg.head_replaced] == 0).all()
    count = torch.bincount(heads, minlength=6)
    assert count[0] == 0 and chisquare(count[1:].tolist()).pvalue > 1e-3
    count = torch.bincount(tails, minlength=6)
    assert count[[1, 2, 3]].sum() == 0
    assert chisquare(count[[0, 4, 5]].tolist()).pvalue > 1e-3


@pytest.mark.parametrize('side', ['head', 'tail'])
def test_one_side_only(side):
    corruption = UniformCorruption(50, corrupt=side, seed=0)
    neg = corruption.fit(TRIPLES, num_entities=6).sample(TRIPLES)
    assert bool(neg.head_replaced.all()) == (side == 'head')
    assert bool((~neg.head_replaced).all()) == (side == 'tail')
    kept = neg.tail if side == 'head' else neg.head
    assert (kept == TRIPLES[2 if side == 'head' else 0].view(-1, 1)).all()


def test_one_side_only_never_falls_back_to_the_other():
    # No head is left for (., 0, 1) on two entities; the tail 0 is.
    triples = torch.tensor([[0, 1], [0, 0], [1, 1]])
    tail_only = UniformCorruption(5, corrupt='tail', seed=0)
    neg = tail_only.fit(triples, num_entities=2).sample(_triple(0, 0, 1))
    assert (neg.tail == 0).all()
    head_only = UniformCorruption(5, corrupt='head', seed=0)
    head_only.fit(triples, num_entities=2)
    with pytest.raises(UnsatisfiableError, match='every head forms'):
        head_only.sample(_triple(0, 0, 1))


def test_unfiltered_replacement_is_uniform_over_all_entities():
    corruption = UniformCorruption(N, filtered=False, seed=0)
    neg = corruption.fit(TRIPLES, num_entities=6).sample(_triple(0, 0, 1))
    heads = neg.head[neg.head_replaced]
    count = torch.bincount(heads, minlength=6)
    assert count.numel() == 6 and chisquare(count.tolist()).pvalue > 1e-3
    # The positive itself and known triples may be drawn:
    assert count[0] > 0


def test_repr_and_bad_side():
    assert repr(UniformCorruption(2, corrupt='tail', seed=1)) == (
        "UniformCorruption(num_neg=2, corrupt='tail', filtered=True, seed=1)"
    )
    with pytest.raises(ValueError, match="'corrupt' must be one of"):
        UniformCorruption(corrupt='relation')
