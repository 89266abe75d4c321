import pytest
import torch

from torch_geometric_negsamp.select import MixGCF


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
    with pytest.raises(ValueError, match="'combine' must be"):
        MixGCF('max')
    with pytest.raises(ValueError, match='must both have shape'):
        MixGCF()(user, pos[:1], cand)
    with pytest.raises(ValueError, match="'cand_layers' must have shape"):
        MixGCF()(user, pos, torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match='empty candidate pool'):
        MixGCF()(user, pos, torch.randn(2, 0, 2, 3))
    with pytest.raises(TypeError, match="'user_layers' must be a torch"):
        MixGCF()(None, pos, cand)
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
    with pytest.raises(ValueError, match="'item_layers' must hold 3"):
        MixGCF().synthesize(user, pos, [items[:, 0]], cand)
    with pytest.raises(ValueError, match="'candidates' must have shape"):
        MixGCF().synthesize(user, pos, items, cand[:2])
    with pytest.raises(ValueError, match='empty candidate pool'):
        MixGCF().synthesize(user, pos, items, cand[:, :, :0])
    with pytest.raises(ValueError, match='must both have shape'):
        MixGCF().synthesize(user, pos[:1], items, cand)
