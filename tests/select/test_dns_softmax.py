import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_negsamp.select import (
    DNS,
    SoftmaxSelector,
    self_adversarial_weights,
)


def test_dns_picks_hardest():
    scores = torch.tensor([[0.1, 0.9, 0.3, 0.5], [2.0, -1.0, 0.0, 1.0]])
    assert DNS(1)(scores).tolist() == [[1], [0]]
    assert DNS(2)(scores).tolist() == [[1, 3], [0, 3]]
    cand = torch.tensor([[10, 11, 12, 13], [20, 21, 22, 23]])
    assert DNS(1).select(cand, scores).tolist() == [[11], [20]]


def test_dns_from_embeddings():
    user = torch.tensor([[1.0, 0.0]])
    cand_emb = torch.tensor([[[0.2, 5.0], [0.9, 0.0], [-3.0, 1.0]]])
    scores = (user[:, None] * cand_emb).sum(-1)
    assert DNS()(scores).tolist() == [[1]]
    assert repr(DNS(2)) == 'DNS(k=2)'


def test_dns_errors():
    with pytest.raises(ValueError, match="'k' must be a positive"):
        DNS(0)
    with pytest.raises(TypeError, match="'k' must be an int"):
        DNS(1.0)
    with pytest.raises(
        ValueError, match=r"'k' \(3\) cannot exceed .* M \(2\)"
    ):
        DNS(3)(torch.zeros(1, 2))
    with pytest.raises(ValueError, match='empty candidate pool'):
        DNS()(torch.zeros(2, 0))
    with pytest.raises(ValueError, match=r'must have shape \[B, M\]'):
        DNS()(torch.zeros(3))
    with pytest.raises(TypeError, match="'scores' must be a torch.Tensor"):
        DNS()([[1.0]])
    with pytest.raises(ValueError, match="'candidates' must have the shape"):
        DNS().select(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4))


def test_softmax_follows_softmax_distribution():
    scores = torch.tensor([[0.0, 1.0, 2.0, -1.0]]).repeat(6000, 1)
    index, log_prob = SoftmaxSelector(1, temperature=1.0, seed=0)(scores)
    expected = torch.softmax(scores[0].double(), 0)
    counts = torch.bincount(index.view(-1), minlength=4)
    assert chisquare(counts.numpy(), (expected * 6000).numpy()).pvalue > 1e-3
    assert torch.allclose(
        log_prob.view(-1).exp().double(), expected[index.view(-1)], atol=1e-6
    )


def test_softmax_temperature_limits_and_no_replacement():
    scores = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    cold = SoftmaxSelector(1, temperature=1e-3, seed=0)
    assert all(cold(scores)[0].item() == 2 for _ in range(20))
    index, _ = SoftmaxSelector(4, seed=1)(scores.repeat(50, 1))
    assert (index.sort(1).values == torch.arange(4)).all()


def test_softmax_determinism_and_errors():
    scores = torch.randn(8, 16)
    a = SoftmaxSelector(3, seed=5)(scores)[0]
    b = SoftmaxSelector(3, generator=torch.Generator().manual_seed(5))(scores)[
        0
    ]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="'temperature' must be positive"):
        SoftmaxSelector(temperature=0)
    with pytest.raises(TypeError, match="'temperature' must be a float"):
        SoftmaxSelector(temperature='1')
    with pytest.raises(ValueError, match='at most one of'):
        SoftmaxSelector(seed=1, generator=torch.Generator())
    with pytest.raises(TypeError, match="'seed' must be an int"):
        SoftmaxSelector(seed=1.5)
    with pytest.raises(TypeError, match="'generator' must be a torch"):
        SoftmaxSelector(generator=3)
    with pytest.raises(ValueError, match='cannot exceed'):
        SoftmaxSelector(5)(torch.zeros(1, 4))
    assert (
        repr(SoftmaxSelector(2, 0.5))
        == 'SoftmaxSelector(k=2, temperature=0.5)'
    )


def test_self_adversarial_weights():
    neg = torch.tensor([[0.0, 1.0], [3.0, 3.0]], requires_grad=True)
    w = self_adversarial_weights(neg, temperature=0.5)
    assert torch.allclose(w.sum(1), torch.ones(2))
    assert w[0, 1] > w[0, 0] and torch.allclose(w[1], torch.tensor([0.5, 0.5]))
    assert not w.requires_grad
    with pytest.raises(ValueError, match="'temperature' must be positive"):
        self_adversarial_weights(neg, -1.0)
