import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_negsamp.kg import BernoulliCorruption

# Relation 0 is one-to-many: head 0, tails 1, 2, 3, so tph = 3, hpt = 1 and
# P(head) = 3 / 4. Relation 1 is many-to-one: heads 1, 2, 3, tail 4, so
# P(head) = 1 / 4. Relation 2 is many-to-many: (0, 2), (0, 3), (1, 3),
# (1, 4): tph = 4 / 2, hpt = 4 / 3, P(head) = 2 / (2 + 4 / 3) = 3 / 5.
# Relation 3 has no triple: 1 / 2.
TRIPLES = [
    (0, 0, 1),
    (0, 0, 2),
    (0, 0, 3),
    (1, 1, 4),
    (2, 1, 4),
    (3, 1, 4),
    (0, 2, 2),
    (0, 2, 3),
    (1, 2, 3),
    (1, 2, 4),
]
HAND = [3 / 4, 1 / 4, 3 / 5, 1 / 2]


def _triples(triples=TRIPLES):
    return torch.tensor(triples).t()


def test_head_probability_by_hand():
    corruption = BernoulliCorruption().fit(
        _triples(), num_entities=8, num_relations=4
    )
    assert corruption.head_prob.dtype == torch.float64
    assert torch.allclose(
        corruption.head_prob, torch.tensor(HAND, dtype=torch.float64)
    )
    rel = torch.tensor([2, 0, 3])
    assert corruption.head_probability(rel).tolist() == pytest.approx(
        [3 / 5, 3 / 4, 1 / 2]
    )
    twice = BernoulliCorruption().fit(
        _triples(TRIPLES + TRIPLES[:4]), num_entities=8, num_relations=4
    )
    assert torch.equal(twice.head_prob, corruption.head_prob)


def test_side_frequencies_match_the_probabilities():
    n = 4000
    corruption = BernoulliCorruption(n, seed=0).fit(
        _triples(), num_entities=8, num_relations=4
    )
    batch = _triples([(0, 0, 1), (2, 1, 4), (1, 2, 3)])
    neg = corruption.sample(batch)
    observed, expected = [], []
    for i, p in enumerate(HAND[:3]):
        num_head = int(neg.head_replaced[i].sum())
        observed += [num_head, n - num_head]
        expected += [p * n, (1 - p) * n]
    assert chisquare(observed, expected, ddof=0).pvalue > 1e-3
    # Uniform among the valid heads of (., 0, 1): every entity but 0.
    heads = neg.head[0][neg.head_replaced[0]]
    count = torch.bincount(heads, minlength=8)
    assert count[0] == 0 and chisquare(count[1:].tolist()).pvalue > 1e-3


def test_repr_and_move():
    corruption = BernoulliCorruption(3, seed=2)
    assert repr(corruption) == (
        'BernoulliCorruption(num_neg=3, filtered=True, seed=2)'
    )
    corruption.fit(_triples()).to('cpu')
    assert corruption.head_prob.device == torch.device('cpu')
