import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import RecNSW, overlap_beta

USER = torch.tensor([[1.0, 0.0]])


def exposed_emb(*scores):
    r"""Exposed items whose inner product with USER is ``scores``."""
    return torch.tensor([[[s, 5.0] for s in scores]])


def test_overlap_count_by_hand():
    exposed = torch.tensor([[10, 11, 12, 13]])
    # Two candidates exposed (11 and 13): c = 2, those two amplified.
    beta = overlap_beta(exposed, torch.tensor([[11, 13, 20]]))
    assert beta.tolist() == [[1.0, 2.0, 1.0, 2.0]]
    # One: c = 1 < 2, nothing amplified.
    beta = overlap_beta(exposed, torch.tensor([[11, 20, 21]]))
    assert beta.tolist() == [[1.0, 1.0, 1.0, 1.0]]
    # Three: c = 3.
    beta = overlap_beta(exposed, torch.tensor([[10, 11, 12]]))
    assert beta.tolist() == [[3.0, 3.0, 3.0, 1.0]]
    # Exposures drawn with replacement: c counts candidates (11, 12), every
    # copy of an overlapping exposed item is amplified.
    beta = overlap_beta(
        torch.tensor([[11, 11, 12, 10]]), torch.tensor([[11, 12]])
    )
    assert beta.tolist() == [[2.0, 2.0, 2.0, 1.0]]
    # A fixed factor amplifies every overlapping item, whatever c.
    beta = overlap_beta(exposed, torch.tensor([[11, 20, 21]]), 3.0)
    assert beta.tolist() == [[1.0, 3.0, 1.0, 1.0]]


def test_equations_8_and_9_by_hand():
    # Scores s(u, w) = [3, 2, -1, 1.8]; candidates overlap 11 and 13.
    emb = exposed_emb(3.0, 2.0, -1.0, 1.8)
    exposed = torch.tensor([[10, 11, 12, 13]])
    cand = torch.tensor([[11, 13, 20]])
    index, beta = RecNSW()(USER, emb, exposed, cand)
    # beta * s = [3, 4, -1, 3.6]: position 1 wins.
    assert index.tolist() == [1] and beta.tolist() == [[1, 2, 1, 2]]
    # Without amplification the highest score wins.
    index, _ = RecNSW(beta=1.0)(USER, emb, exposed, cand)
    assert index.tolist() == [0]
    # Only one overlap: no amplification under the code's rule.
    index, _ = RecNSW()(USER, emb, exposed, torch.tensor([[11, 20, 21]]))
    assert index.tolist() == [0]


def test_amplified_negative_scores_lose():
    # s = [-0.5, -0.4]: the overlapping item (-0.4, amplified to -0.8)
    # loses to -0.5; unamplified it would win.
    emb = exposed_emb(-0.5, -0.4, -3.0)
    exposed = torch.tensor([[10, 11, 12]])
    cand = torch.tensor([[11, 12]])
    index, beta = RecNSW()(USER, emb, exposed, cand)
    assert beta.tolist() == [[1, 2, 2]] and index.tolist() == [0]
    assert RecNSW(beta=1.0)(USER, emb, exposed, cand)[0].tolist() == [1]


def test_saturated_sigmoids_do_not_tie():
    # sigmoid(40) == sigmoid(50) in float32; the argmax is on beta * s.
    emb = exposed_emb(40.0, 50.0)
    index, _ = RecNSW()(USER, emb, torch.tensor([[1, 2]]), torch.tensor([[3]]))
    assert index.tolist() == [1]


def test_beta_as_a_function_of_the_epoch():
    emb = exposed_emb(3.0, 2.0)
    exposed, cand = torch.tensor([[10, 11]]), torch.tensor([[11]])
    selector = RecNSW(beta=lambda epoch: 1.0 + epoch)
    # beta(0) = 1: 3 > 2; beta(1) = 2: 4 > 3.
    assert selector(USER, emb, exposed, cand, epoch=0)[0].tolist() == [0]
    index, beta = selector(USER, emb, exposed, cand, epoch=1)
    assert index.tolist() == [1] and beta.tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="'epoch' must be given"):
        selector(USER, emb, exposed, cand)
    bad = RecNSW(beta=lambda epoch: -1.0)
    with pytest.raises(ValueError, match=r"'beta\(2\)' must be positive"):
        bad(USER, emb, exposed, cand, epoch=2)
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        selector(USER, emb, exposed, cand, epoch=-1)


def test_errors():
    with pytest.raises(ValueError, match="'beta' must be 'overlap_count'"):
        RecNSW(beta='count')
    with pytest.raises(ValueError, match="'beta' must be positive"):
        RecNSW(beta=0.0)
    with pytest.raises(TypeError, match="'beta' must be 'overlap_count'"):
        RecNSW(beta=True)
    sel, emb = RecNSW(), exposed_emb(1.0, 2.0)
    exposed, cand = torch.tensor([[1, 2]]), torch.tensor([[3]])
    with pytest.raises(ValueError, match=r"'exp_emb' must have shape \[1, M"):
        sel(USER, emb[..., :1], exposed, cand)
    with pytest.raises(ValueError, match="'exp_emb' holds an empty pool"):
        sel(USER, emb[:, :0], exposed[:, :0], cand)
    with pytest.raises(
        ValueError, match=r"'exposed' must have shape \[1, 2\]"
    ):
        sel(USER, emb, exposed[:, :1], cand)
    with pytest.raises(ValueError, match="'candidates' must have shape"):
        sel(USER, emb, exposed, cand.repeat(2, 1))


class TestRecNSWContract(SelectorContract):
    selector_class = RecNSW
    id_bounds = {'exposed': None, 'candidates': None}
    repr_contains = ("beta='overlap_count'",)

    def make(self, **kwargs):
        return RecNSW(**kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {
            'user_emb': torch.randn(5, 4, generator=gen).to(device),
            'exp_emb': torch.randn(5, 3, 4, generator=gen).to(device),
            'exposed': torch.randint(0, 6, (5, 3), generator=gen).to(device),
            'candidates': torch.randint(0, 6, (5, 4), generator=gen).to(
                device
            ),
        }

    def call(self, selector, user_emb, exp_emb, exposed, candidates):
        return selector(user_emb, exp_emb, exposed, candidates)

    def expected_shapes(self, inputs):
        return [(5,), (5, 3)]

    def check_outputs(self, selector, inputs, outputs):
        index, beta = outputs
        want = overlap_beta(inputs['exposed'], inputs['candidates'])
        assert torch.equal(beta, want.float())
        scores = (inputs['exp_emb'] * inputs['user_emb'][:, None]).sum(-1)
        assert torch.equal(index, (beta * scores).argmax(1))

    def bad_calls(self):
        return [
            Bad(
                'exposed-shape',
                lambda x: {**x, 'exposed': x['exposed'][:, :2]},
                ValueError,
                "'exposed' must have shape",
            )
        ]
