import pytest
import torch
from scipy.stats import kstest
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import MixGCF, _scoring


def test_mixing_by_hand():
    # B = 1, M = 2 candidates, L + 1 = 2 layers, d = 1. Positive mixing
    # adds a <u, p> to every candidate's score alike, so the hop choice is
    # argmax_m <u, c_m> per layer whatever alpha is:
    #   layer 0: u = 1, c = (1, 5)   -> candidate 1
    #   layer 1: u = -1, c = (3, 6)  -> candidate 0 (-3 > -6)
    user = torch.tensor([[[1.0], [-1.0]]])
    pos = torch.tensor([[[2.0], [4.0]]])
    cand = torch.tensor([[[[1.0], [3.0]], [[5.0], [6.0]]]])  # [1, M, 2, 1]
    out, alpha, choice = MixGCF('mean', seed=0)(
        user, pos, cand, return_details=True
    )
    assert choice.tolist() == [[[1, 0]]]
    a0, a1 = alpha[0, 0].tolist()
    layer0 = a0 * 2.0 + (1 - a0) * 5.0  # the positive weighs alpha
    layer1 = a1 * 4.0 + (1 - a1) * 3.0
    assert out.shape == (1, 1, 1)
    assert abs(out.item() - (layer0 + layer1) / 2) < 1e-6
    last = MixGCF('last', seed=0)(user, pos, cand)
    assert abs(last.item() - layer1) < 1e-6
    concat = MixGCF('concat', seed=0)(user, pos, cand)
    assert torch.allclose(concat, torch.tensor([[[layer0, layer1]]]))
    # The same by ids, from an item table:
    items = torch.tensor([[[1.0], [3.0]], [[5.0], [6.0]], [[9.0], [9.0]]])
    by_ids = MixGCF('mean', seed=0).synthesize(
        user, pos, items, torch.tensor([[0, 1]])
    )
    assert torch.allclose(by_ids, out)


def test_alpha_is_uniform_on_zero_one():
    user, pos = torch.randn(500, 4, 2), torch.randn(500, 4, 2)
    cand = torch.randn(500, 3, 4, 2)
    _, alpha, _ = MixGCF(seed=0)(user, pos, cand, return_details=True)
    assert kstest(alpha.view(-1).double().numpy(), 'uniform').pvalue > 1e-3


def test_candidate_ids_are_checked():
    # -1 used to be read as the last item.
    B, I, L1, d = 2, 5, 2, 3
    user, pos = torch.randn(B, L1, d), torch.randn(B, L1, d)
    items = torch.randn(I, L1, d)
    for bad in (-1, I):
        cand = torch.tensor([[0, 1, bad], [2, 3, 4]])
        with pytest.raises(ValueError, match=f"'candidates' holds .*{bad}"):
            MixGCF(seed=0).synthesize(user, pos, items, cand)
    with pytest.raises(TypeError, match="'candidates' must hold integer"):
        MixGCF(seed=0).synthesize(user, pos, items, torch.zeros(B, 3))


def test_non_finite_embeddings_are_refused():
    B, I, L1, d = 2, 5, 2, 3
    user, pos = torch.randn(B, L1, d), torch.randn(B, L1, d)
    items = torch.randn(I, L1, d)
    cand = torch.tensor([[0, 1], [2, 3]])
    bad = items.clone()
    bad[3, 1, 0] = float('nan')  # a candidate's row
    with pytest.raises(ValueError, match="'item_layers' must be finite"):
        MixGCF(seed=0).synthesize(user, pos, bad, cand)
    # A non-finite row that is no candidate is not looked at:
    far = items.clone()
    far[4] = float('inf')
    assert torch.isfinite(
        MixGCF(seed=0).synthesize(user, pos, far, cand)
    ).all()
    pos_nan = pos.clone()
    pos_nan[0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match="'pos_layers' must be finite"):
        MixGCF(seed=0).synthesize(user, pos_nan, items, cand)
    with pytest.raises(ValueError, match="'cand_layers' must be finite"):
        MixGCF(seed=0)(user, pos, bad[cand])


def test_hardest_mixed_candidate_per_layer_is_chosen():
    B, M, L1, d = 3, 6, 3, 4
    gen = torch.Generator().manual_seed(0)
    user = torch.randn(B, L1, d, generator=gen)
    pos = torch.randn(B, L1, d, generator=gen)
    cand = torch.randn(B, M, L1, d, generator=gen)
    out, alpha, choice = MixGCF(combine='last', seed=1)(
        user, pos, cand, return_details=True
    )
    assert out.shape == (B, 1, d)
    assert alpha.shape == choice.shape == (B, 1, L1)
    assert ((alpha > 0) & (alpha < 1)).all()
    a = alpha[:, 0, :, None, None].transpose(1, 2)  # [B, 1, L1, 1]
    mixed = a * pos[:, None] + (1 - a) * cand  # [B, M, L1, d]
    scores = (user[:, None] * mixed).sum(-1)
    assert torch.equal(choice[:, 0], scores.argmax(1))
    last = mixed[torch.arange(B), choice[:, 0, -1], -1]
    assert torch.allclose(out[:, 0], last)


def test_pooling_modes_and_multiple_negatives():
    B, k, M, L1, d = 2, 3, 4, 3, 5
    user, pos = torch.randn(B, L1, d), torch.randn(B, L1, d)
    cand = torch.randn(B, k, M, L1, d)
    mean = MixGCF('mean', seed=0)(user, pos, cand)
    concat = MixGCF('concat', seed=0)(user, pos, cand)
    assert mean.shape == (B, k, d) and concat.shape == (B, k, L1 * d)
    assert torch.allclose(concat.view(B, k, L1, d).mean(2), mean)
    custom = MixGCF(lambda x: x.sum(-2), seed=0)(user, pos, cand)
    assert torch.allclose(custom, mean * L1, atol=1e-5)


def test_gradients_flow_only_where_the_method_says():
    B, M, L1, d = 2, 5, 2, 3
    user = torch.randn(B, L1, d, requires_grad=True)
    pos = torch.randn(B, L1, d, requires_grad=True)
    cand = torch.randn(B, M, L1, d, requires_grad=True)
    out, _, choice = MixGCF(seed=0)(user, pos, cand, return_details=True)
    out.sum().backward()
    assert user.grad is None  # the argmax choice is not differentiated
    assert pos.grad is not None and (pos.grad != 0).all()
    chosen = torch.zeros(B, M, L1, dtype=torch.bool)
    for b in range(B):
        for layer in range(L1):
            chosen[b, choice[b, 0, layer], layer] = True
    grad_norm = cand.grad.abs().sum(-1)
    assert (grad_norm[chosen] > 0).all()
    assert (grad_norm[~chosen] == 0).all()


def test_determinism_and_errors():
    user, pos = torch.randn(2, 2, 3), torch.randn(2, 2, 3)
    cand = torch.randn(2, 4, 2, 3)
    assert torch.equal(
        MixGCF(seed=3)(user, pos, cand), MixGCF(seed=3)(user, pos, cand)
    )
    with pytest.raises(ValueError, match="'combine' must be one of"):
        MixGCF('max')
    with pytest.raises(ValueError, match='must both have shape'):
        MixGCF()(user, pos[:1], cand)
    with pytest.raises(ValueError, match="'cand_layers' must have shape"):
        MixGCF()(user, pos, torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match='empty candidate pool'):
        MixGCF()(user, pos, torch.randn(2, 0, 2, 3))
    with pytest.raises(TypeError, match="'user_layers' must be a torch"):
        MixGCF()(None, pos, cand)
    with pytest.raises(TypeError, match="'return_details' must be a bool"):
        MixGCF()(user, pos, cand, return_details='no')
    assert repr(MixGCF('concat')) == "MixGCF(combine='concat')"


@pytest.mark.parametrize('k', [1, 3])
def test_synthesize_from_ids_equals_call_with_gathered_layers(k):
    B, M, I, L1, d = 4, 6, 20, 3, 5
    gen = torch.Generator().manual_seed(0)
    user = torch.randn(B, L1, d, generator=gen, requires_grad=True)
    pos = torch.randn(B, L1, d, generator=gen, requires_grad=True)
    items = torch.randn(I, L1, d, generator=gen, requires_grad=True)
    cand = torch.randint(I, (B, k, M), generator=gen)
    a = MixGCF(seed=1)(user, pos, items[cand])
    a.sum().backward()
    grads = [t.grad.clone() for t in (pos, items)]
    for t in (user, pos, items):
        t.grad = None
    for form in (items, list(items.unbind(1))):
        b = MixGCF(seed=1).synthesize(user, pos, form, cand)
        b.sum().backward()
        assert torch.allclose(a, b, atol=1e-6)
        assert torch.allclose(grads[0], pos.grad, atol=1e-6)
        assert torch.allclose(grads[1], items.grad, atol=1e-6)
        assert user.grad is None
        pos.grad = items.grad = None
    with pytest.raises(ValueError, match="'item_layers' must have shape"):
        MixGCF().synthesize(user, pos, items[:, :2], cand)
    with pytest.raises(TypeError, match="'item_layers' must be a tensor"):
        MixGCF().synthesize(user, pos, 'items', cand)
    with pytest.raises(ValueError, match="'item_layers' must hold 3"):
        MixGCF().synthesize(user, pos, [items[:, 0]], cand)
    with pytest.raises(ValueError, match="'candidates' must have shape"):
        MixGCF().synthesize(user, pos, items, cand[:2])
    with pytest.raises(ValueError, match='empty candidate pool'):
        MixGCF().synthesize(user, pos, items, cand[:, :, :0])
    with pytest.raises(ValueError, match='must both have shape'):
        MixGCF().synthesize(user, pos[:1], items, cand)


def _layers(device, B=3, k=2, M=5, I=10, L1=2, d=4):
    gen = torch.Generator().manual_seed(0)
    return {
        'user_layers': torch.randn(B, L1, d, generator=gen).to(device),
        'pos_layers': torch.randn(B, L1, d, generator=gen).to(device),
        'item_layers': torch.randn(I, L1, d, generator=gen).to(device),
        'candidates': torch.randint(I, (B, k, M), generator=gen).to(device),
    }


def _layer_bad_calls():
    return [
        Bad(
            'pos-shape',
            lambda x: {**x, 'pos_layers': x['pos_layers'][:1]},
            ValueError,
            'must both have shape',
        ),
        Bad(
            'user-2d',
            lambda x: {**x, 'user_layers': x['user_layers'][0]},
            ValueError,
            "'user_layers' must have 3 dim",
        ),
    ]


class TestMixGCFContract(SelectorContract):
    r"""The synthesis from candidate ids."""

    selector_class = MixGCF
    id_bounds = {'candidates': 10}
    repr_contains = ("combine='mean'",)

    def make(self, **kwargs):
        return MixGCF('mean', **kwargs)

    def inputs(self, device='cpu'):
        return _layers(device)

    def call(self, selector, **x):
        return selector.synthesize(
            x['user_layers'],
            x['pos_layers'],
            x['item_layers'],
            x['candidates'],
        )

    def expected_shapes(self, inputs):
        return [(3, 2, 4)]

    def check_outputs(self, selector, inputs, outputs):
        x = inputs
        cand_layers = x['item_layers'][x['candidates']]
        expected = selector(x['user_layers'], x['pos_layers'], cand_layers)
        assert torch.allclose(outputs[0], expected, atol=1e-6)

    def bad_calls(self):
        return _layer_bad_calls() + [
            Bad(
                'candidates-rows',
                lambda x: {**x, 'candidates': x['candidates'][:2]},
                ValueError,
                "'candidates' must have shape",
            ),
            Bad(
                'empty-pool',
                lambda x: {**x, 'candidates': x['candidates'][..., :0]},
                ValueError,
                'empty candidate pool',
            ),
            Bad(
                'item-layers-shape',
                lambda x: {**x, 'item_layers': x['item_layers'][:, :1]},
                ValueError,
                "'item_layers' must have shape",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad(
                'combine-unknown',
                lambda: MixGCF('max'),
                ValueError,
                "'combine' must be one of",
            ),
            Bad(
                'combine-int',
                lambda: MixGCF(3),
                ValueError,
                "'combine'",
            ),
        ]


class TestMixGCFForwardContract(TestMixGCFContract):
    r"""The synthesis from the candidates' embeddings."""

    id_bounds = {}

    def inputs(self, device='cpu'):
        x = _layers(device)
        return {
            'user_layers': x['user_layers'],
            'pos_layers': x['pos_layers'],
            'cand_layers': x['item_layers'][x['candidates']],
        }

    def call(self, selector, user_layers, pos_layers, cand_layers):
        return selector(user_layers, pos_layers, cand_layers)

    def check_outputs(self, selector, inputs, outputs):
        out, alpha, choice = selector(*inputs.values(), return_details=True)
        assert torch.equal(out, outputs[0])
        assert ((alpha > 0) & (alpha < 1)).all()
        assert ((choice >= 0) & (choice < 5)).all()

    def bad_calls(self):
        return _layer_bad_calls() + [
            Bad(
                'cand-shape',
                lambda x: {**x, 'cand_layers': x['cand_layers'][..., :3]},
                ValueError,
                "'cand_layers' must have shape",
            ),
            Bad(
                'empty-pool',
                lambda x: {**x, 'cand_layers': x['cand_layers'][:, :, :0]},
                ValueError,
                'empty candidate pool',
            ),
        ]


@pytest.mark.parametrize('block', [1 << 18, 1, 100])
def test_synthesize_scores_candidates_in_blocks_bit_for_bit(
    monkeypatch, block
):
    # The candidates are scored in blocks of positives (_layers.row_blocks);
    # the block size changes neither the chosen ids nor the negatives, to
    # the bit, also when the blocks do not divide the batch.
    B, k, M, I, L1, d = 13, 2, 7, 30, 3, 4
    gen = torch.Generator().manual_seed(3)
    user = torch.randn(B, L1, d, generator=gen)
    pos = torch.randn(B, L1, d, generator=gen)
    items = torch.randn(I, L1, d, generator=gen)
    cand = torch.randint(I, (B, k, M), generator=gen)
    whole, whole_ids = MixGCF(seed=5).synthesize(
        user, pos, items, cand, return_ids=True
    )
    monkeypatch.setattr(_scoring, 'BLOCK_ELEMENTS', block)
    neg, ids = MixGCF(seed=5).synthesize(
        user, pos, items, cand, return_ids=True
    )
    assert torch.equal(ids, whole_ids)
    assert torch.equal(neg, whole)
    # The choice is not trivial: several candidates are picked.
    assert len(set(ids.flatten().tolist())) > k * L1
