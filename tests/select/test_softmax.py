import math

import pytest
import torch
from scipy.stats import chisquare
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import (
    SoftmaxSelector,
    self_adversarial_weights,
)


def _log_softmax_by_hand(row, temperature):
    logits = [s / temperature for s in row]
    norm = math.log(sum(math.exp(x) for x in logits))
    return [x - norm for x in logits]


@pytest.mark.parametrize('temperature', [0.5, 1.0, 2.0])
def test_log_prob_is_exact_at_every_temperature(temperature):
    scores = torch.tensor([[0.0, 1.0, 2.0, -1.0], [3.0, 3.0, 0.5, 0.0]])
    selector = SoftmaxSelector(2, temperature, seed=0)
    expected = torch.tensor(
        [_log_softmax_by_hand(row, temperature) for row in scores.tolist()]
    )
    assert torch.allclose(selector.log_prob(scores), expected, atol=1e-6)
    index, log_prob = selector(scores)
    assert torch.allclose(log_prob, expected.gather(1, index), atol=1e-6)
    # At T = 2 the first row's probabilities are 1 : e^.5 : e : e^-.5
    if temperature == 2.0:
        z = 1 + math.exp(0.5) + math.e + math.exp(-0.5)
        assert math.isclose(
            selector.log_prob(scores)[0, 2].exp().item(),
            math.e / z,
            rel_tol=1e-6,
        )


@pytest.mark.parametrize('temperature', [0.5, 2.0])
def test_draws_follow_the_tempered_softmax(temperature):
    # A selector that ignored the temperature would draw from softmax(s):
    # at these temperatures the chi-square test tells the two apart.
    n = 6000
    row = [0.0, 1.0, 2.0, -1.0]
    scores = torch.tensor([row]).repeat(n, 1)
    index, _ = SoftmaxSelector(1, temperature, seed=0)(scores)
    expected = torch.tensor(
        _log_softmax_by_hand(row, temperature), dtype=torch.double
    ).exp()
    counts = torch.bincount(index.view(-1), minlength=4)
    assert chisquare(counts.numpy(), (expected * n).numpy()).pvalue > 1e-3
    untempered = torch.softmax(torch.tensor(row, dtype=torch.double), 0)
    assert chisquare(counts.numpy(), (untempered * n).numpy()).pvalue < 1e-6


def test_temperature_limits_and_no_replacement():
    scores = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    cold = SoftmaxSelector(1, temperature=1e-3, seed=0)
    assert all(cold(scores)[0].item() == 2 for _ in range(20))
    index, _ = SoftmaxSelector(4, seed=1)(scores.repeat(50, 1))
    assert (index.sort(1).values == torch.arange(4)).all()


@pytest.mark.parametrize('temperature', [0.5, 3.0])
def test_self_adversarial_weights_are_exact_at_every_temperature(temperature):
    neg = torch.tensor([[0.0, 1.0], [3.0, 3.0], [-1.0, 2.0]])
    neg.requires_grad_()
    w = self_adversarial_weights(neg, temperature=temperature)
    for i, (a, b) in enumerate(neg.tolist()):
        # softmax of two: w_1 = 1 / (1 + exp((a - b) / T))
        w1 = 1 / (1 + math.exp((a - b) / temperature))
        assert math.isclose(w[i, 1].item(), w1, rel_tol=1e-6)
        assert math.isclose(w[i, 0].item(), 1 - w1, rel_tol=1e-6)
    assert not w.requires_grad


def test_self_adversarial_weights_errors():
    neg = torch.tensor([[0.0, 1.0]])
    with pytest.raises(ValueError, match="'temperature' must be positive"):
        self_adversarial_weights(neg, -1.0)
    with pytest.raises(ValueError, match="'neg_scores' must be finite"):
        self_adversarial_weights(torch.tensor([[0.0, float('nan')]]))
    with pytest.raises(ValueError, match="'neg_scores' must have 2 dim"):
        self_adversarial_weights(torch.zeros(3))
    with pytest.raises(ValueError, match="'neg_scores' holds an empty"):
        self_adversarial_weights(torch.zeros(3, 0))


def test_softmax_refuses_non_finite_scores():
    # NaN would propagate into log_prob and the draws: refused.
    selector = SoftmaxSelector(1, seed=0)
    for bad in (float('nan'), float('inf')):
        scores = torch.tensor([[0.0, bad, 1.0]])
        with pytest.raises(ValueError, match="'scores' must be finite"):
            selector(scores)
        with pytest.raises(ValueError, match="'scores' must be finite"):
            selector.log_prob(scores)


class TestSoftmaxSelectorContract(SelectorContract):
    selector_class = SoftmaxSelector
    repr_contains = ('k=2', 'temperature=0.5')

    def make(self, **kwargs):
        return SoftmaxSelector(2, 0.5, **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {'scores': torch.randn(5, 6, generator=gen).to(device)}

    def call(self, selector, scores):
        return selector(scores)

    def expected_shapes(self, inputs):
        return [(5, 2), (5, 2)]

    def check_outputs(self, selector, inputs, outputs):
        index, log_prob = outputs
        assert ((index >= 0) & (index < 6)).all()
        assert (index[:, 0] != index[:, 1]).all()  # without replacement
        scores = inputs['scores'].cpu()
        expected = torch.tensor(
            [_log_softmax_by_hand(row, 0.5) for row in scores.tolist()]
        )
        assert torch.allclose(
            log_prob.cpu(), expected.gather(1, index.cpu()), atol=1e-5
        )

    def bad_calls(self):
        return [
            Bad(
                'k-above-M',
                lambda x: {'scores': x['scores'][:, :1]},
                ValueError,
                r"'k' \(2\) cannot exceed",
            ),
            Bad(
                'empty-pool',
                lambda x: {'scores': x['scores'][:, :0]},
                ValueError,
                'empty candidate pool',
            ),
            Bad(
                'scores-3d',
                lambda x: {'scores': x['scores'][None]},
                ValueError,
                "'scores' must have 2 dim",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad(
                'temperature-zero',
                lambda: SoftmaxSelector(temperature=0),
                ValueError,
                "'temperature' must be positive",
            ),
            Bad(
                'temperature-str',
                lambda: SoftmaxSelector(temperature='1'),
                TypeError,
                "'temperature' must be a float",
            ),
            Bad(
                'temperature-nan',
                lambda: SoftmaxSelector(temperature=float('nan')),
                ValueError,
                "'temperature' must be finite",
            ),
            Bad('k-zero', lambda: SoftmaxSelector(0), ValueError, "'k'"),
        ]


def test_select_hands_on_the_proposal_log_probability():
    # Distinct ids so that each pick names its pool position.
    cand = torch.tensor([[7, 3, 9], [1, 2, 0]])
    scores = torch.tensor([[0.0, 1.0, 2.0], [0.5, -1.0, 0.0]])
    log_q = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]))
    selector = SoftmaxSelector(1, 0.5, seed=0)
    log_p = selector.log_prob(scores).double()
    for _ in range(20):
        ids, log_q_pick = selector.select(cand, scores, log_q)
        assert ids.shape == log_q_pick.shape == (2, 1)
        assert log_q_pick.dtype == torch.float64
        for row in range(2):
            m = cand[row].tolist().index(int(ids[row, 0]))
            expected = (
                math.log(3) + float(log_q[row, m]) + float(log_p[row, m])
            )
            assert float(log_q_pick[row, 0]) == pytest.approx(expected)
    # Without log_q only the ids, from the same stream as forward():
    a, b = SoftmaxSelector(2, seed=4), SoftmaxSelector(2, seed=4)
    index, _ = a(scores)
    assert torch.equal(b.select(cand, scores), cand.gather(1, index))


@pytest.mark.parametrize('temperature', [0.5, 3.0])
def test_selection_log_q_makes_the_partition_estimate_unbiased(temperature):
    # Exact expectation over every ordered pool of M = 2 independent draws
    # from Q and every pick p_m = softmax(s / T): the importance estimate
    # exp(s) / q of the pick, with log q = log M + log Q + log p, averages
    # to sum_v exp(s_v) (the pool's own estimate averages to it too).
    s = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    Q = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    selector = SoftmaxSelector(1, temperature)
    total = 0.0
    for a in range(3):
        for b in range(3):
            pool = torch.tensor([[a, b]])
            pool_scores = s[pool]
            log_p = selector.log_prob(pool_scores)[0]
            prob_pool = float(Q[a] * Q[b])
            for m, item in enumerate((a, b)):
                log_q = math.log(2) + math.log(Q[item]) + float(log_p[m])
                weight = math.exp(float(s[item]) - log_q)
                total += prob_pool * math.exp(float(log_p[m])) * weight
    assert total == pytest.approx(float(s.exp().sum()), rel=1e-12)


def test_select_errors():
    selector = SoftmaxSelector(1, seed=0)
    cand, scores = torch.tensor([[1, 2]]), torch.zeros(1, 2)
    with pytest.raises(ValueError, match="'log_q' must have the shape of"):
        selector.select(cand, scores, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="'log_q' must be finite"):
        selector.select(cand, scores, torch.tensor([[0.0, -math.inf]]))
    with pytest.raises(TypeError, match="'log_q' must be a floating"):
        selector.select(cand, scores, torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="'candidates' must have the shape"):
        selector.select(cand[:, :1], scores)
    with pytest.raises(ValueError, match="'candidates' holds item id -1"):
        selector.select(torch.tensor([[1, -1]]), scores)


class TestSoftmaxSelectContract(SelectorContract):
    r"""The contract of :meth:`SoftmaxSelector.select` with ``log_q``."""

    selector_class = SoftmaxSelector
    id_bounds = {'candidates': None}

    def make(self, **kwargs):
        return SoftmaxSelector(2, 0.5, **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {
            'candidates': torch.randperm(30, generator=gen)
            .view(5, 6)
            .to(device),
            'scores': torch.randn(5, 6, generator=gen).to(device),
            'log_q': torch.full((5, 6), -math.log(30)).to(device),
        }

    def call(self, selector, candidates, scores, log_q):
        return selector.select(candidates, scores, log_q)

    def expected_shapes(self, inputs):
        return [(5, 2), (5, 2)]

    def check_outputs(self, selector, inputs, outputs):
        ids, log_q = outputs
        cand = inputs['candidates']
        log_p = selector.log_prob(inputs['scores']).double()
        for row in range(5):
            for j in range(2):
                m = cand[row].tolist().index(int(ids[row, j]))
                expected = math.log(6) - math.log(30) + float(log_p[row, m])
                assert float(log_q[row, j]) == pytest.approx(expected)
