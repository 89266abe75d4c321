import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import DNS


def test_dns_picks_the_hardest_by_hand():
    scores = torch.tensor([[0.1, 0.9, 0.3, 0.5], [2.0, -1.0, 0.0, 1.0]])
    assert DNS(1)(scores).tolist() == [[1], [0]]
    assert DNS(2)(scores).tolist() == [[1, 3], [0, 3]]
    assert DNS(4)(scores).tolist() == [[1, 3, 2, 0], [0, 3, 2, 1]]
    cand = torch.tensor([[10, 11, 12, 13], [20, 21, 22, 23]])
    assert DNS(1).select(cand, scores).tolist() == [[11], [20]]
    assert DNS(2).select(cand, scores).tolist() == [[11, 13], [20, 23]]


def test_dns_from_embeddings_by_hand():
    # <(1, 0), c> = 0.2, 0.9, -3.0: the second candidate is the hardest.
    user = torch.tensor([[1.0, 0.0]])
    cand_emb = torch.tensor([[[0.2, 5.0], [0.9, 0.0], [-3.0, 1.0]]])
    scores = (user[:, None] * cand_emb).sum(-1)
    assert DNS()(scores).tolist() == [[1]]
    assert repr(DNS(2)) == 'DNS(k=2)'


def test_dns_refuses_non_finite_scores():
    # A NaN would be ranked first by topk: refused, naming the argument.
    scores = torch.tensor([[0.0, float('nan'), 1.0]])
    with pytest.raises(ValueError, match="'scores' must be finite .*nan"):
        DNS()(scores)
    with pytest.raises(ValueError, match="'scores' must be finite .*inf"):
        DNS().select(
            torch.tensor([[1, 2, 3]]), torch.tensor([[0.0, float('inf'), 1.0]])
        )


def test_dns_errors():
    with pytest.raises(ValueError, match="'k' must be a positive"):
        DNS(0)
    with pytest.raises(TypeError, match="'k' must be an int"):
        DNS(1.0)
    with pytest.raises(ValueError, match=r"'k' \(3\) cannot exceed .*M = 2"):
        DNS(3)(torch.zeros(1, 2))
    with pytest.raises(ValueError, match='empty candidate pool'):
        DNS()(torch.zeros(2, 0))
    with pytest.raises(ValueError, match="'scores' must have 2 dim"):
        DNS()(torch.zeros(3))
    with pytest.raises(TypeError, match="'scores' must be a torch.Tensor"):
        DNS()([[1.0]])
    with pytest.raises(TypeError, match="'scores' must be a floating"):
        DNS()(torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="unexpected keyword argument 'seed'"):
        DNS(seed=0)


class TestDNSContract(SelectorContract):
    selector_class = DNS
    id_bounds = {'candidates': None}
    repr_contains = ('k=2',)

    def make(self, **kwargs):
        return DNS(k=2, **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        scores = torch.randperm(24, generator=gen).view(4, 6).float()
        cand = torch.randint(100, (4, 6), generator=gen)
        return {
            'candidates': cand.to(device),
            'scores': scores.to(device),
        }

    def call(self, selector, candidates, scores):
        return selector.select(candidates, scores)

    def expected_shapes(self, inputs):
        return [(4, 2)]

    def check_outputs(self, selector, inputs, outputs):
        (ids,) = outputs
        for row, cand, scores in zip(
            ids.tolist(),
            inputs['candidates'].tolist(),
            inputs['scores'].tolist(),
        ):
            order = sorted(range(6), key=lambda m: -scores[m])
            assert row == [cand[order[0]], cand[order[1]]]

    def bad_calls(self):
        return [
            Bad(
                'k-above-M',
                lambda x: {k: v[:, :1] for k, v in x.items()},
                ValueError,
                r"'k' \(2\) cannot exceed",
            ),
            Bad(
                'empty-pool',
                lambda x: {k: v[:, :0] for k, v in x.items()},
                ValueError,
                'empty candidate pool',
            ),
            Bad(
                'shape-mismatch',
                lambda x: {**x, 'candidates': x['candidates'][:, :5]},
                ValueError,
                "'candidates' must have the shape of 'scores'",
            ),
            Bad(
                'scores-1d',
                lambda x: {**x, 'scores': x['scores'][0]},
                ValueError,
                "'scores' must have 2 dim",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad('k-zero', lambda: DNS(0), ValueError, "'k'"),
            Bad('k-float', lambda: DNS(1.5), TypeError, "'k'"),
            Bad('k-bool', lambda: DNS(True), TypeError, "'k'"),
        ]
