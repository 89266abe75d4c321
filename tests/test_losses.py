import math

import pytest
import torch
import torch.nn.functional as F
from tiny_tensors import NEG, POS

from torch_geometric_negsamp.losses import (
    accidental_hit_mask,
    bce_loss,
    bpr_loss,
    hinge_loss,
    l2_regularization,
    sampled_softmax_loss,
)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def softplus(x):
    return math.log1p(math.exp(x))


def test_bpr_hand_computed():
    out = bpr_loss(POS, NEG, reduction='none')
    # -log sigmoid(pos - neg), averaged over the two negatives of a row.
    want = [
        -(math.log(sigmoid(2.0 - 0.5)) + math.log(sigmoid(2.0 - 3.0))) / 2,
        -(math.log(sigmoid(-1.0 - 0.0)) + math.log(sigmoid(-1.0 + 0.5))) / 2,
    ]
    assert out.tolist() == pytest.approx(want)
    flipped = [
        -(math.log(sigmoid(0.5 - 2.0)) + math.log(sigmoid(3.0 - 2.0))) / 2,
        -(math.log(sigmoid(0.0 + 1.0)) + math.log(sigmoid(-0.5 + 1.0))) / 2,
    ]
    assert out.tolist() != pytest.approx(flipped)  # The fixture can tell.
    assert bpr_loss(POS, NEG).item() == pytest.approx(sum(want) / 2)
    assert bpr_loss(POS, NEG, reduction='sum').item() == pytest.approx(
        sum(want)
    )


def test_bpr_is_stable_for_large_margins():
    out = bpr_loss(torch.tensor([0.0]), torch.tensor([1000.0]))
    assert out.item() == pytest.approx(1000.0)
    assert bpr_loss(torch.tensor([1000.0]), torch.tensor([0.0])).item() >= 0


def test_one_dimensional_negatives_mean_k_equals_one():
    neg = torch.tensor([1.0, 0.0])
    for loss in (bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss):
        assert torch.allclose(
            loss(POS, neg, reduction='none'),
            loss(POS, neg.view(-1, 1), reduction='none'),
        )


def test_bce_hand_computed_and_matches_torch():
    out = bce_loss(POS, NEG, reduction='none')
    want = [
        -math.log(sigmoid(2.0))
        - math.log(1 - sigmoid(0.5))
        - math.log(1 - sigmoid(3.0)),
        -math.log(sigmoid(-1.0))
        - math.log(1 - sigmoid(0.0))
        - math.log(1 - sigmoid(-0.5)),
    ]
    assert out.tolist() == pytest.approx(want)
    logits = torch.cat([POS, NEG.flatten()])
    labels = torch.cat([torch.ones(2), torch.zeros(4)])
    torch_sum = F.binary_cross_entropy_with_logits(
        logits, labels, reduction='sum'
    )
    assert bce_loss(POS, NEG, reduction='sum').item() == pytest.approx(
        torch_sum.item()
    )
    torch_mean = F.binary_cross_entropy_with_logits(logits, labels)
    assert bce_loss(POS, NEG).item() == pytest.approx(3 * torch_mean.item())


def test_hinge_hand_computed():
    out = hinge_loss(POS, NEG, margin=1.5, reduction='none')
    # Row 0: relu(1.5 - 2 + 0.5) = 0, relu(1.5 - 2 + 3) = 2.5 -> 1.25.
    # Row 1: relu(1.5 + 1 + 0) = 2.5, relu(1.5 + 1 - 0.5) = 2 -> 2.25.
    assert out.tolist() == pytest.approx([1.25, 2.25])
    # Margin 1 (the default) gives other numbers: 1.0 and 1.75.
    assert hinge_loss(POS, NEG, reduction='none').tolist() == pytest.approx(
        [1.0, 1.75]
    )
    assert hinge_loss(torch.tensor([5.0]), torch.tensor([0.0])).item() == 0.0
    torch_loss = torch.nn.MarginRankingLoss(margin=1.5)
    assert hinge_loss(POS, NEG[:, 0], margin=1.5).item() == pytest.approx(
        torch_loss(POS, NEG[:, 0], torch.ones(2)).item()
    )


def test_sampled_softmax_hand_computed():
    out = sampled_softmax_loss(POS, NEG, temperature=0.5, reduction='none')
    # Logits divided by 0.5: row 0 [4, 1, 6], row 1 [-2, 0, -1].
    want = [
        -4.0 + math.log(math.exp(4.0) + math.exp(1.0) + math.exp(6.0)),
        2.0 + math.log(math.exp(-2.0) + math.exp(0.0) + math.exp(-1.0)),
    ]
    assert out.tolist() == pytest.approx(want)
    # Temperature 1 (the default) gives other numbers.
    assert sampled_softmax_loss(
        POS, NEG, reduction='none'
    ).tolist() != pytest.approx(want)
    assert out.mean().item() == pytest.approx(
        sampled_softmax_loss(POS, NEG, temperature=0.5).item()
    )
    full = F.cross_entropy(
        torch.cat([POS.view(-1, 1), NEG], 1) / 0.5,
        torch.zeros(2, dtype=torch.long),
        reduction='sum',
    )
    assert sampled_softmax_loss(
        POS, NEG, 0.5, reduction='sum'
    ).item() == pytest.approx(full.item())


def test_log_q_correction_equals_shifting_logits():
    gen = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(4, generator=gen), torch.randn(4, 3, generator=gen)
    log_q_pos = torch.rand(4, generator=gen).log()
    log_q_neg = torch.rand(4, 3, generator=gen).log()
    t = 0.2
    got = sampled_softmax_loss(
        pos, neg, t, log_q_pos, log_q_neg, reduction='none'
    )
    want = sampled_softmax_loss(
        pos - t * log_q_pos, neg - t * log_q_neg, t, reduction='none'
    )
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(
        got, sampled_softmax_loss(pos, neg, t, reduction='none')
    )


def test_accidental_hits_remove_exactly_the_masked_columns():
    gen = torch.Generator().manual_seed(1)
    pos, neg = torch.randn(3, generator=gen), torch.randn(3, 4, generator=gen)
    mask = torch.tensor(
        [
            [False, True, False, False],
            [False, False, False, False],
            [True, True, True, True],
        ]
    )
    out = sampled_softmax_loss(
        pos, neg, accidental_hits=mask, reduction='none'
    )
    keep = [[0, 2, 3], [0, 1, 2, 3], []]
    for row, cols in enumerate(keep):
        p = float(pos[row])
        z = [p] + [float(neg[row, c]) for c in cols]
        want = -p + math.log(sum(math.exp(v) for v in z))
        assert out[row].item() == pytest.approx(want, abs=1e-6)
    assert out[2].item() == 0.0  # Only the positive is left.
    # Gradients flow only into kept negatives.
    neg = neg.clone().requires_grad_()
    sampled_softmax_loss(pos, neg, accidental_hits=mask).backward()
    assert (neg.grad[mask] == 0).all() and (neg.grad[~mask] > 0).all()


def test_accidental_hit_mask():
    pos_ids = torch.tensor([3, 5])
    neg_ids = torch.tensor([[3, 1, 3], [0, 5, 2]])
    assert accidental_hit_mask(pos_ids, neg_ids).tolist() == [
        [True, False, True],
        [False, True, False],
    ]
    assert accidental_hit_mask(pos_ids, torch.tensor([3, 1])).tolist() == [
        True,
        False,
    ]
    # In-batch negatives: the diagonal is the positive itself.
    in_batch = accidental_hit_mask(pos_ids, pos_ids.expand(2, 2))
    assert in_batch.tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
def test_gradient_signs(loss):
    pos = torch.tensor([0.3, -0.2], requires_grad=True)
    neg = torch.tensor([[0.1, 0.5], [0.0, 0.4]], requires_grad=True)
    loss(pos, neg).backward()
    # Raising a positive score lowers the loss, raising a negative one
    # raises it (hinge: all pairs are inside the margin here).
    assert (pos.grad < 0).all()
    assert (neg.grad > 0).all()


def test_l2_regularization():
    a = torch.tensor([[1.0, 2.0]], requires_grad=True)
    b = torch.tensor([3.0])
    out = l2_regularization(a, b, batch_size=2)
    assert out.item() == pytest.approx(0.5 * (1 + 4 + 9) / 2)
    out.backward()
    assert a.grad.tolist() == [[0.5, 1.0]]  # d/da = a / batch_size.


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
@pytest.mark.parametrize(
    'pos,neg,error,match',
    [
        (
            torch.zeros(2, 1),
            torch.zeros(2),
            ValueError,
            r"'pos' must have shape \[B\] \(got \[2, 1\]\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(3, 2),
            ValueError,
            r"'neg' must have shape \[B\] or \[B, k\] with B = 2 and k >= 1 "
            r'\(got \[3, 2\]\)',
        ),
        (torch.zeros(2), torch.zeros(2, 0), ValueError, 'k >= 1'),
        (torch.zeros(2), torch.zeros(2, 1, 1), ValueError, "'neg' must have"),
        ([0.0], torch.zeros(1), TypeError, "'pos' must be a torch.Tensor"),
        (
            torch.zeros(2),
            torch.zeros(2, dtype=torch.long),
            TypeError,
            "'neg' must be a floating-point tensor",
        ),
        (
            torch.zeros(2, device='meta'),
            torch.zeros(2),
            ValueError,
            "'pos' is on meta",
        ),
        (
            torch.tensor([0.0, float('nan')]),
            torch.zeros(2),
            ValueError,
            r"'pos' must be finite \(got nan",
        ),
        (
            torch.zeros(2),
            torch.tensor([[0.0, float('inf')], [0.0, 0.0]]),
            ValueError,
            r"'neg' must be finite \(got inf",
        ),
        (
            torch.zeros(2),
            torch.tensor([[0.0, -float('inf')], [0.0, 0.0]]),
            ValueError,
            r"'neg' must be finite \(got -inf",
        ),
        (
            torch.zeros(0),
            torch.zeros(0, 3),
            ValueError,
            "'pos' must hold at least one score for reduction='mean'",
        ),
    ],
)
def test_shape_and_type_errors(loss, pos, neg, error, match):
    with pytest.raises(error, match=match):
        loss(pos, neg)


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
def test_empty_batch_sum_and_none(loss):
    pos, neg = torch.zeros(0), torch.zeros(0, 2)
    assert loss(pos, neg, reduction='sum').item() == 0.0
    assert loss(pos, neg, reduction='none').shape == (0,)


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
@pytest.mark.parametrize('value', [3e38, -3e38, 1e-30, 0.0])
def test_finite_extreme_scores_never_give_nan(loss, value):
    pos = torch.tensor([value, -value, 1.0])
    neg = torch.tensor([[-value, value], [value, 0.0], [1.0, 1.0]])
    kwargs = {}
    if loss is sampled_softmax_loss:
        kwargs = dict(temperature=1e-30)
    out = loss(pos, neg, reduction='none', **kwargs)
    assert not torch.isnan(out).any()
    assert (out >= 0).all()


def test_sampled_softmax_tiny_temperature_on_equal_scores():
    # Each logit alone overflows to inf (1 / 1e-40 in float32); the loss of
    # a positive tied with its negative is still log 2 (it was NaN).
    out = sampled_softmax_loss(
        torch.tensor([1.0]), torch.tensor([[1.0]]), temperature=1e-40
    )
    assert out.item() == pytest.approx(math.log(2))


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_scores_on_two_devices(loss):
    with pytest.raises(ValueError, match="'neg' is on cuda.* 'pos' is on"):
        loss(POS, NEG.cuda())


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_losses_can_be_captured_in_a_cuda_graph():
    # The finiteness check synchronises with the host, which a capture
    # forbids: it is skipped there (benchmarks/bench_training.py captures
    # bpr_loss and l2_regularization).
    pos = torch.zeros(2, device='cuda', requires_grad=True)
    neg = torch.zeros(2, 3, device='cuda')
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        bpr_loss(pos, neg)  # Warm-up outside the capture.
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        out = bpr_loss(pos, neg) + l2_regularization(pos, batch_size=2)
    graph.replay()
    torch.cuda.synchronize()
    assert out.item() == pytest.approx(math.log(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_other_arguments_on_another_device():
    with pytest.raises(ValueError, match="'log_q_neg' is on cuda"):
        sampled_softmax_loss(POS, NEG, log_q_neg=torch.zeros(2, 2).cuda())
    with pytest.raises(ValueError, match="'accidental_hits' is on cuda"):
        sampled_softmax_loss(
            POS, NEG, accidental_hits=torch.zeros(2, 2, dtype=bool).cuda()
        )
    with pytest.raises(ValueError, match="'neg_ids' is on cuda"):
        accidental_hit_mask(
            torch.zeros(2).long(), torch.zeros(2).long().cuda()
        )
    with pytest.raises(ValueError, match=r"'tensors\[1\]' is on cuda"):
        l2_regularization(torch.zeros(1), torch.zeros(1).cuda(), batch_size=1)
    # On one device, the checks pass and the loss is finite.
    assert sampled_softmax_loss(POS.cuda(), NEG.cuda()).isfinite()


@pytest.mark.parametrize('name', ['uniform', 'popularity'])
def test_log_q_correction_recovers_the_full_softmax_gradient(name):
    # One user (0) with positives {0, 1} among 8 items; the other users'
    # edges make popularity non-uniform (every item has a positive weight,
    # so the sampler's support is all of the user's non-positives). The
    # full softmax over the positive and the user's non-positives:
    #   L = -s_p + log(exp(s_p) + sum_{v not positive} exp(s_v)).
    # With k negatives drawn by the (filtered) sampler and
    # log Q^- = log(k Q(v)), log Q^+ = 0 (the positive is in the set with
    # probability one), the sampled softmax's gradient tends to the full
    # one as k grows; without the correction it does not.
    from torch_geometric_negsamp.sampler import resolve_sampler

    edges = torch.tensor(
        [
            [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
            [0, 1, 2, 3, 7, 2, 3, 5, 2, 4, 7, 6],
        ]
    )
    sampler = resolve_sampler(name, seed=0).fit(edges, (4, 8))
    scores = torch.tensor(
        [2.0, 1.0, 0.5, -1.0, 1.5, 0.0, -0.5, 1.0], dtype=torch.float64
    )
    valid = torch.tensor([2, 3, 4, 5, 6, 7])

    def gradient(loss_fn):
        s = scores.clone().requires_grad_()
        loss_fn(s).backward()
        return s.grad

    def full(s):
        z = torch.cat([s[:1], s[valid]])
        return -s[0] + torch.logsumexp(z, 0)

    k = 40000
    neg, log_q = sampler.sample_negatives(
        torch.tensor([0]), num_neg=k, return_log_prob=True
    )
    assert not bool(torch.isin(neg, torch.tensor([0, 1])).any())
    # log Q is exact: a distribution over the valid items.
    all_q = sampler.log_prob(torch.tensor([0]), torch.arange(8)).exp()
    assert float(all_q.sum()) == pytest.approx(1.0)
    assert float(all_q[:2].sum()) == 0.0

    def sampled(s, corrected):
        return sampled_softmax_loss(
            s[:1],
            s[neg],
            log_q_neg=log_q + math.log(k) if corrected else None,
        )

    expected = gradient(full)
    corrected = gradient(lambda s: sampled(s, True))
    plain = gradient(lambda s: sampled(s, False))
    assert torch.allclose(corrected, expected, atol=0.02)
    assert float((plain - expected).abs().max()) > 0.2
    # The popularity sampler's own Q matters: uniform weights in its place
    # (a wrong Q) leave a bias.
    if name == 'popularity':
        wrong = gradient(
            lambda s: sampled_softmax_loss(
                s[:1],
                s[neg],
                log_q_neg=torch.full_like(log_q, math.log(k / 6)),
            )
        )
        assert float((wrong - expected).abs().max()) > 0.05
