import io
import math

import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import DENS, _scoring


def _scalar_dens(**kwargs):
    r"""d = 1 gates set by hand: the positive's gate is open (p^r = p) and
    the candidate's is sigma(n) (n^r = n sigma(n))."""
    dens = DENS(1, warmup=10, **kwargs)
    with torch.no_grad():
        dens.gate_weight.zero_()
        dens.gate_bias.zero_()
        dens.gate_bias[1] = 100.0  # item gate: sigma(100) = 1
        dens.gate_weight[3] = 1.0  # negative gate: sigma(n)
    return dens


CAND = torch.tensor([-3.0, -1.3, 0.0, 2.0])


def _inputs():
    # One positive; two layers with user 1 then -1; the four candidates
    # carry the same value in both layers.
    user = torch.tensor([[[1.0], [-1.0]]])
    pos = torch.tensor([[[0.5], [0.5]]])
    cand = CAND.view(1, 4, 1, 1).expand(1, 4, 2, 1)
    return user, pos, cand


def test_relevant_factors_by_hand():
    dens = _scalar_dens()
    user, pos, cand = _inputs()
    pos_r, cand_r = dens.relevant(user, pos, cand)
    assert torch.allclose(pos_r, pos)
    expected = CAND * torch.sigmoid(CAND)
    assert torch.allclose(cand_r[0, :, 0, 0], expected)
    assert torch.allclose(cand_r[0, :, 1, 0], expected)


def test_hop_wise_selection_by_hand():
    # Layer 0 (u = 1): after warm-up argmax -n sigma(n), i.e. the minimum
    # of n sigma(n): n = -1.3 (-0.278; -3 gives -0.142); at epoch 0 argmax
    # n - n sigma(n) = n sigma(-n): n = 2 (0.238).
    # Layer 1 (u = -1): after warm-up argmax n sigma(n): n = 2; at epoch 0
    # argmax -n sigma(-n): n = -3 (2.86).
    dens = _scalar_dens()
    user, pos, cand = _inputs()
    assert dens(user, pos, cand, epoch=10).tolist() == [[[1, 3]]]
    assert dens(user, pos, cand, epoch=50).tolist() == [[[1, 3]]]
    assert dens(user, pos, cand, epoch=0).tolist() == [[[3, 0]]]
    # Halfway, u (0.5 n - n sigma(n)) = u n (0.5 - sigma(n)), with
    # n (0.5 - sigma(n)) = -1.36, -0.37, 0, -0.76: layer 0 (u = 1) takes
    # n = 0, layer 1 (u = -1) n = -3.
    assert dens(user, pos, cand, epoch=5).tolist() == [[[2, 0]]]
    # Without warm-up the rule is the final one from the start:
    dens.warmup = 0
    assert dens(user, pos, cand, epoch=0).tolist() == [[[1, 3]]]


def test_synthesize_gathers_the_chosen_candidate_per_layer():
    dens = _scalar_dens()
    user, pos, _ = _inputs()
    # items 0..3 hold the candidates; layer 1 of item i is -CAND[i] * 10
    # so that the gathered layers tell which item each came from.
    items = torch.stack([CAND, -10 * CAND], dim=1).unsqueeze(-1)  # [4,2,1]
    cand_ids = torch.tensor([[2, 0, 3, 1]])
    # Layer 0 scores n (u = 1) as before: items 2, 0, 3, 1 hold
    # 0, -3, 2, -1.3; after warm-up the minimum of n sigma(n) is -1.3
    # (item 1). Layer 1 (u = -1) holds -10 n: 0, 30, -20, 13; argmax of
    # -(-10 n) sigma(-10 n)... computed as the rule says:
    layer1 = torch.tensor([0.0, 30.0, -20.0, 13.0])
    best1 = int((-1.0 * -layer1 * torch.sigmoid(layer1)).argmax())
    neg = dens.synthesize(user, pos, items, cand_ids, epoch=10)
    assert neg.shape == (1, 1, 2, 1)
    assert float(neg[0, 0, 0, 0]) == pytest.approx(-1.3)
    assert float(neg[0, 0, 1, 0]) == pytest.approx(float(layer1[best1]))
    # The same choice as forward() on the gathered layers:
    gathered = items[cand_ids]  # [1, 4, 2, 1]
    assert dens(user, pos, gathered, epoch=10).tolist() == [[[3, best1]]]
    # The list form of the item layers gives the same result:
    same = dens.synthesize(
        user, pos, list(items.unbind(1)), cand_ids, epoch=10
    )
    assert torch.equal(same, neg)


@pytest.mark.parametrize('block', [1 << 20, 7])
@pytest.mark.parametrize('epoch', [0, 3, 10])
def test_synthesize_from_ids_chooses_exactly_as_forward(
    monkeypatch, block, epoch
):
    # synthesize() gates each distinct candidate once and scores blocks of
    # positives in place; the choice must be bit for bit that of forward()
    # on the gathered layers (whole-batch, out-of-place), with repeated
    # candidates and with blocks that do not divide the batch.
    monkeypatch.setattr(_scoring, 'BLOCK_ELEMENTS', block)
    gen = torch.Generator().manual_seed(epoch)
    B, k, M, L1, d, I = 23, 2, 9, 3, 5, 12
    dens = DENS(d, warmup=10)
    user = torch.randn(B, L1, d, generator=gen)
    pos = torch.randn(B, L1, d, generator=gen)
    items = torch.randn(I, L1, d, generator=gen)
    cand_ids = torch.randint(0, I, (B, k, M), generator=gen)
    neg, chosen = dens.synthesize(
        user, pos, items, cand_ids, epoch=epoch, return_ids=True
    )
    choice = dens(user, pos, items[cand_ids], epoch=epoch)
    assert torch.equal(chosen, cand_ids.gather(2, choice))
    layer = torch.arange(L1).expand(B, k, L1)
    assert torch.equal(neg, items[chosen, layer])
    # Another rule than at random: not every negative is the first
    # candidate, and the layers do not all agree.
    assert bool((choice != 0).any())
    assert bool((choice != choice[..., :1]).any())


def test_gating_loss_by_hand():
    # Closed gates (weights and biases 0): sigma(0) = 1/2, so x^r = x^ir
    # = x / 2 and with s(p) = 2, s(n) = 0 (mean-combined, one layer):
    # L = gamma / 4 [log 2 + log 2 + log(1 + e^-1) + log(1 + e)].
    dens = DENS(2, gamma=0.3)
    with torch.no_grad():
        dens.gate_weight.zero_()
        dens.gate_bias.zero_()
    user = torch.tensor([[[1.0, 1.0]]])
    pos = torch.tensor([[[1.0, 1.0]]])  # s = 2
    neg = torch.tensor([[[[3.0, -3.0]]]])  # s = 0
    expected = (
        0.3
        / 4
        * (2 * math.log(2) + math.log(1 + math.exp(-1)) + math.log(1 + math.e))
    )
    loss = dens.gating_loss(user, pos, neg).detach()
    assert loss.dim() == 0
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # [B, L + 1, d] negatives mean k = 1:
    k1 = dens.gating_loss(user, pos, neg[:, 0]).detach()
    assert float(k1) == pytest.approx(expected, rel=1e-6)
    zero = DENS(2, gamma=0.0).gating_loss(user, pos, neg).detach()
    assert float(zero) == 0.0


def _reference_gating_loss(gates, gamma, user, pos, neg):
    r"""The reference code's create_bpr_loss gating terms, written out with
    four nn.Linear gates (user, item, pos, neg), mean pooling."""
    g_user, g_item, g_pos, g_neg = gates
    gate_pos = torch.sigmoid(g_item(pos) + g_user(user))
    pos_r = pos * gate_pos
    pos_ir = pos - pos_r
    gate_neg = torch.sigmoid(g_neg(neg) + g_pos(pos_r).unsqueeze(1))
    neg_r = neg * gate_neg
    neg_ir = neg - neg_r
    u = user.mean(1)
    s_pr = (u * pos_r.mean(1)).sum(1)
    s_pir = (u * pos_ir.mean(1)).sum(1)
    s_nr = (u.unsqueeze(1) * neg_r.mean(2)).sum(-1)
    s_nir = (u.unsqueeze(1) * neg_ir.mean(2)).sum(-1)
    return (
        gamma
        * (
            torch.mean(torch.log(1 + torch.exp(s_pir - s_pr)))
            + torch.mean(torch.log(1 + torch.exp(s_nr - s_nir).sum(1)))
            + torch.mean(
                torch.log(1 + torch.exp(s_nr - s_pr.unsqueeze(1)).sum(1))
            )
            + torch.mean(
                torch.log(1 + torch.exp(s_pir.unsqueeze(1) - s_nir).sum(1))
            )
        )
        / 4
    )


def test_gating_loss_matches_the_reference_formula_and_trains_the_gates():
    torch.manual_seed(0)
    dens = DENS(4, gamma=0.3)
    gates = [torch.nn.Linear(4, 4) for _ in range(4)]
    with torch.no_grad():
        for row, gate in enumerate(gates):
            gate.weight.copy_(dens.gate_weight[row])
            gate.bias.copy_(dens.gate_bias[row])
    user = torch.randn(5, 3, 4, requires_grad=True)
    pos = torch.randn(5, 3, 4)
    neg = torch.randn(5, 2, 3, 4)
    loss = dens.gating_loss(user, pos, neg)
    expected = _reference_gating_loss(gates, 0.3, user, pos, neg)
    got, want = float(loss.detach()), float(expected.detach())
    assert got == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert float(dens.gate_weight.grad.abs().sum()) > 0
    assert float(dens.gate_bias.grad.abs().sum()) > 0
    assert float(user.grad.abs().sum()) > 0


def test_gates_are_initialised_like_linear_and_move_with_the_module():
    torch.manual_seed(3)
    dens = DENS(16)
    bound = 1 / math.sqrt(16)
    weight, bias = dens.gate_weight.detach(), dens.gate_bias.detach()
    assert float(weight.abs().max()) <= bound
    assert float(bias.abs().max()) <= bound
    assert float(weight.std()) > bound / 4  # not all zero
    assert [n for n, _ in dens.named_parameters()] == [
        'gate_weight',
        'gate_bias',
    ]
    assert dens.device == torch.device('cpu')
    assert dens.to('meta').device == torch.device('meta')


def test_state_dict_carries_the_gates():
    torch.manual_seed(0)
    source = DENS(3)
    torch.manual_seed(1)
    target = DENS(3)
    user, pos = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    cand = torch.randn(4, 5, 2, 3)
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    target.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(target.gate_weight, source.gate_weight)
    assert torch.equal(target(user, pos, cand, 3), source(user, pos, cand, 3))
    with pytest.raises(ValueError, match="'state_dict' entry 'gate_bias'"):
        target.load_state_dict(
            {**source.state_dict(), 'gate_bias': torch.zeros(4, 2)}
        )


def test_dens_errors():
    dens = DENS(3)
    user, pos = torch.zeros(2, 2, 3), torch.zeros(2, 2, 3)
    with pytest.raises(ValueError, match="'dim' must be a positive"):
        DENS(0)
    with pytest.raises(ValueError, match="'warmup' must be non-negative"):
        DENS(3, warmup=-1)
    with pytest.raises(ValueError, match="'gamma' must be non-negative"):
        DENS(3, gamma=-0.1)
    with pytest.raises(ValueError, match="'combine' must be one of"):
        DENS(3, combine='sum')
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        dens(user, pos, torch.zeros(2, 4, 2, 3), epoch=-1)
    with pytest.raises(TypeError, match="'epoch' must be an int"):
        dens.ramp(1.5)
    with pytest.raises(ValueError, match="embedding size 3, the gates'"):
        dens(torch.zeros(2, 2, 4), torch.zeros(2, 2, 4), None, 0)
    with pytest.raises(ValueError, match="'cand_layers' must have shape"):
        dens(user, pos, torch.zeros(2, 4, 3, 3), 0)
    with pytest.raises(ValueError, match="'cand_layers' must have shape"):
        dens.relevant(user, pos, torch.zeros(3, 4, 2, 3))
    with pytest.raises(ValueError, match='empty candidate pool'):
        dens(user, pos, torch.zeros(2, 0, 2, 3), 0)
    with pytest.raises(ValueError, match="'neg_layers' must have shape"):
        dens.gating_loss(user, pos, torch.zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="'user_layers' and 'pos_layers'"):
        dens.gating_loss(user, torch.zeros(2, 3, 3), torch.zeros(2, 1, 2, 3))
    with pytest.raises(ValueError, match="'candidates' must have shape"):
        dens.synthesize(
            user, pos, torch.zeros(5, 2, 3), torch.zeros(3, 2).long(), 0
        )
    with pytest.raises(ValueError, match="'item_layers' must have shape"):
        dens.synthesize(
            user, pos, torch.zeros(5, 3, 3), torch.zeros(2, 2).long(), 0
        )


class TestDENSContract(SelectorContract):
    selector_class = DENS
    id_bounds = {'candidates': 6}
    repr_contains = ('dim=3', 'warmup=4', 'gamma=0.3', "combine='mean'")

    def make(self, **kwargs):
        torch.manual_seed(0)  # the gates' initial values
        return DENS(3, warmup=4, **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {
            'user_layers': torch.randn(4, 2, 3, generator=gen).to(device),
            'pos_layers': torch.randn(4, 2, 3, generator=gen).to(device),
            'item_layers': torch.randn(6, 2, 3, generator=gen).to(device),
            'candidates': torch.randint(6, (4, 5), generator=gen).to(device),
        }

    def call(self, selector, user_layers, pos_layers, item_layers, candidates):
        neg = selector.synthesize(
            user_layers, pos_layers, item_layers, candidates, epoch=2
        )
        return neg, selector.gating_loss(user_layers, pos_layers, neg)

    def expected_shapes(self, inputs):
        return [(4, 1, 2, 3), ()]

    def check_outputs(self, selector, inputs, outputs):
        neg, _ = outputs
        items = inputs['item_layers']
        cand = inputs['candidates']
        choice = selector(
            inputs['user_layers'],
            inputs['pos_layers'],
            items[cand],
            epoch=2,
        )  # [4, 1, 2]
        for b in range(4):
            for layer in range(2):
                item = cand[b, choice[b, 0, layer]]
                assert torch.equal(neg[b, 0, layer], items[item, layer])

    def bad_calls(self):
        return [
            Bad(
                'candidates-rows',
                lambda x: {**x, 'candidates': x['candidates'][:3]},
                ValueError,
                "'candidates' must have shape",
            ),
            Bad(
                'pos-layers-shape',
                lambda x: {**x, 'pos_layers': x['pos_layers'][:, :1]},
                ValueError,
                "'user_layers' and 'pos_layers'",
            ),
            Bad(
                'item-layers-dim',
                lambda x: {**x, 'item_layers': x['item_layers'][..., :2]},
                ValueError,
                "'item_layers' must have shape",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad('dim-float', lambda: DENS(3.0), TypeError, "'dim'"),
            Bad(
                'warmup-neg',
                lambda: DENS(3, warmup=-2),
                ValueError,
                "'warmup'",
            ),
            Bad(
                'gamma-inf',
                lambda: DENS(3, gamma=float('inf')),
                ValueError,
                "'gamma'",
            ),
            Bad(
                'combine-bad',
                lambda: DENS(3, combine=1),
                ValueError,
                "'combine'",
            ),
        ]
