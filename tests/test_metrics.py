import math

import pytest
import torch
from tiny_tensors import idx

from torch_geometric_negsamp.metrics import (
    evaluate_ranking,
    evaluate_ranking_per_user,
    ranking_metric_sums,
    ranking_metrics,
)

LOG3 = math.log2(3)


def reference(scores, train, test, k):
    # Independent per-user loop, straight from the definitions.
    num_users, num_items = scores.shape
    k = min(k, num_items)
    out = {'recall': [], 'ndcg': [], 'precision': [], 'hit_rate': []}
    for u in range(num_users):
        t = {i for (v, i) in test if v == u}
        if not t:
            continue
        masked = {i for (v, i) in train if v == u}
        order = sorted(
            range(num_items), key=lambda i: (i in masked, -float(scores[u, i]))
        )[:k]
        hits = [1.0 if (i in t and i not in masked) else 0.0 for i in order]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(t))))
        out['recall'].append(sum(hits) / len(t))
        out['precision'].append(sum(hits) / k)
        out['ndcg'].append(dcg / idcg)
        out['hit_rate'].append(float(sum(hits) > 0))
    return {key: sum(v) / len(v) for key, v in out.items()}


def test_hand_computed_single_user():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.5]])
    # Item 0 is a training item: the ranking becomes 1, 2, 3, 4.
    out = ranking_metrics(scores, idx([(0, 0)]), idx([(0, 2), (0, 4)]), k=2)
    assert out['recall'] == pytest.approx(0.5)
    assert out['precision'] == pytest.approx(0.5)
    assert out['hit_rate'] == 1.0
    assert out['ndcg'] == pytest.approx((1 / LOG3) / (1 + 1 / LOG3))
    assert out['num_users'] == 1


def test_training_items_are_masked():
    scores = torch.tensor([[5.0, 4.0, 0.0]])
    test = idx([(0, 1)])
    without_mask = ranking_metrics(scores, idx([]), test, k=1)
    with_mask = ranking_metrics(scores, idx([(0, 0)]), test, k=1)
    assert without_mask['recall'] == 0.0
    assert with_mask['recall'] == 1.0
    assert with_mask['ndcg'] == 1.0
    assert scores.tolist() == [[5.0, 4.0, 0.0]]  # Input untouched.


def test_users_without_test_items_are_excluded():
    scores = torch.tensor([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    test = idx([(0, 0), (2, 0)])  # User 1 has no test item.
    out = ranking_metrics(scores, idx([]), test, k=1)
    assert out['num_users'] == 2
    # User 0 hits, user 2 misses: mean over 2 users, not 3.
    assert out['recall'] == pytest.approx(0.5)
    assert out['hit_rate'] == pytest.approx(0.5)


def test_k_larger_than_item_count_is_clamped():
    scores = torch.tensor([[5.0, 1.0, 2.0]])
    out = ranking_metrics(scores, idx([(0, 0)]), idx([(0, 1)]), k=10)
    # Ranking 2, 1, (0 masked): hit at rank 1, k clamped to 3.
    assert out['recall'] == 1.0
    assert out['precision'] == pytest.approx(1 / 3)
    assert out['ndcg'] == pytest.approx(1 / LOG3)


def test_item_in_train_and_test_is_never_a_hit():
    scores = torch.tensor([[5.0, 1.0, 2.0]])
    out = ranking_metrics(scores, idx([(0, 0)]), idx([(0, 0), (0, 1)]), k=3)
    # Item 0 is masked (ranked last, not a hit) but counts in |T_u| = 2.
    assert out['recall'] == pytest.approx(0.5)
    assert out['ndcg'] == pytest.approx((1 / LOG3) / (1 + 1 / LOG3))


def test_ties_with_determined_answer():
    # Items 0 and 1 tie for the top; both are test items, so whichever order
    # torch.topk picks, both ranks 0 and 1 are hits.
    scores = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    out = ranking_metrics(scores, idx([]), idx([(0, 0), (0, 1)]), k=2)
    assert out['recall'] == 1.0
    assert out['ndcg'] == pytest.approx(1.0)
    # Items 2 and 3 tie below the cut-off: neither is retrieved.
    out = ranking_metrics(scores, idx([]), idx([(0, 2)]), k=2)
    assert out['recall'] == 0.0 and out['hit_rate'] == 0.0


def test_duplicate_test_pairs_count_once():
    scores = torch.tensor([[2.0, 1.0]])
    out = ranking_metrics(scores, idx([]), idx([(0, 1), (0, 1)]), k=1)
    assert out['recall'] == 0.0
    out = ranking_metrics(scores, idx([]), idx([(0, 0), (0, 0), (0, 1)]), k=1)
    assert out['recall'] == pytest.approx(0.5)


def test_against_independent_reference():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(9, 11, generator=gen)
    pairs = torch.rand(9, 11, generator=gen)
    train = [(u, i) for u in range(9) for i in range(11) if pairs[u, i] < 0.3]
    test = [
        (u, i)
        for u in range(9)
        for i in range(11)
        if 0.3 <= pairs[u, i] < 0.5 and u != 4
    ]
    for k in (1, 3, 5, 20):
        got = ranking_metrics(scores, idx(train), idx(test), k=k)
        want = reference(scores, train, test, k)
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-12), (k, key)


def test_matches_torch_geometric_link_pred_metrics():
    # Where definitions agree (k <= I, no train/test overlap), PyG's metrics
    # on the masked top-k give the same numbers.
    from torch_geometric.metrics import (
        LinkPredHitRatio,
        LinkPredNDCG,
        LinkPredPrecision,
        LinkPredRecall,
    )

    gen = torch.Generator().manual_seed(1)
    scores = torch.randn(6, 10, generator=gen)
    perm = torch.rand(6, 10, generator=gen).argsort(dim=1)
    train = idx([(u, int(i)) for u in range(6) for i in perm[u, :3]])
    test = idx([(u, int(i)) for u in range(6) for i in perm[u, 3 : 3 + u % 4]])
    k = 4
    masked = scores.clone()
    masked[train[0], train[1]] = float('-inf')
    top = masked.topk(k, dim=1).indices
    ours = ranking_metrics(scores, train, test, k=k)
    for name, cls in [
        ('recall', LinkPredRecall),
        ('ndcg', LinkPredNDCG),
        ('precision', LinkPredPrecision),
        ('hit_rate', LinkPredHitRatio),
    ]:
        metric = cls(k)
        metric.update(top, test)
        assert ours[name] == pytest.approx(float(metric.compute()), abs=1e-6)


def test_sums_allow_exact_block_aggregation():
    gen = torch.Generator().manual_seed(2)
    scores = torch.randn(6, 8, generator=gen)
    train = idx([(u, (u + 1) % 8) for u in range(6)])
    test = idx([(u, (3 * u) % 8) for u in range(6) if u != 2])
    full = ranking_metrics(scores, train, test, k=3)
    total = {
        'recall': 0.0,
        'ndcg': 0.0,
        'precision': 0.0,
        'hit_rate': 0.0,
        'num_users': 0,
    }
    for rows in (range(0, 4), range(4, 6)):
        rows = list(rows)
        keep = lambda e: e[:, (e[0] >= rows[0]) & (e[0] <= rows[-1])]  # noqa
        tr, te = keep(train), keep(test)
        tr[0] -= rows[0]
        te[0] -= rows[0]
        sums = ranking_metric_sums(scores[rows], tr, te, k=3)
        for key in total:
            total[key] += sums[key]
    assert total['num_users'] == full['num_users'] == 5
    for key in ('recall', 'ndcg', 'precision', 'hit_rate'):
        assert total[key] / total['num_users'] == pytest.approx(full[key])


def test_sums_with_no_test_pair():
    out = ranking_metric_sums(torch.zeros(2, 3), idx([]), idx([]), k=1)
    assert out == {
        'recall': 0.0,
        'ndcg': 0.0,
        'precision': 0.0,
        'hit_rate': 0.0,
        'num_users': 0,
    }


def _random_case(seed):
    # 13 users (user 5 without a test item) and 17 items, random embeddings.
    gen = torch.Generator().manual_seed(seed)
    user_emb = torch.randn(13, 4, generator=gen)
    item_emb = torch.randn(17, 4, generator=gen)
    pairs = torch.rand(13, 17, generator=gen)
    train = (pairs < 0.25).nonzero().t()
    test = ((pairs >= 0.25) & (pairs < 0.4)).nonzero().t()
    test = test[:, test[0] != 5]
    return user_emb, item_emb, train, test


def test_evaluate_ranking_equals_full_matrix():
    user_emb, item_emb, train, test = _random_case(3)
    out = evaluate_ranking(
        user_emb, item_emb, train, test, k=[3, 1, 30], batch_size=4
    )
    full_scores = user_emb @ item_emb.t()
    for k in (1, 3, 30):
        full = ranking_metrics(full_scores, train, test, k=k)
        for name in ('recall', 'ndcg', 'precision', 'hit_rate'):
            assert out[f'{name}@{k}'] == pytest.approx(full[name], rel=1e-12)
    num_users = int(test[0].unique().numel())
    assert out['num_users'] == full['num_users'] == num_users
    assert set(out) == {
        f'{n}@{k}'
        for n in ('recall', 'ndcg', 'precision', 'hit_rate')
        for k in (1, 3, 30)
    } | {'num_users'}


def test_evaluate_ranking_per_user_is_each_users_own_value():
    user_emb, item_emb, train, test = _random_case(4)
    args = (user_emb, item_emb, train, test)
    per = evaluate_ranking_per_user(*args, k=[3, 1], batch_size=4)
    mean = evaluate_ranking(*args, k=[3, 1], batch_size=4)
    users = test[0].unique()
    assert torch.equal(per['users'], users) and 5 not in users.tolist()
    full_scores = user_emb @ item_emb.t()
    for k in (1, 3):
        for name in ('recall', 'ndcg', 'precision', 'hit_rate'):
            values = per[f'{name}@{k}']
            assert values.dtype == torch.float64
            assert values.shape == users.shape
            key = f'{name}@{k}'
            assert values.mean().item() == pytest.approx(mean[key], rel=1e-12)
            for value, user in zip(values.tolist(), users.tolist()):
                alone = test[:, test[0] == user]  # this user evaluated alone
                own = ranking_metrics(full_scores, train, alone, k=k)[name]
                assert value == pytest.approx(own, rel=1e-12)
    assert len(per) == 1 + 2 * 4


def test_evaluate_ranking_default_k_and_score_fn():
    user_emb = torch.tensor([[1.0], [2.0]])
    item_emb = torch.tensor([[1.0], [2.0], [3.0]])
    train, test = idx([(0, 2)]), idx([(0, 0), (1, 1)])
    out = evaluate_ranking(user_emb, item_emb, train, test)
    assert set(out) == {
        'recall@20',
        'ndcg@20',
        'precision@20',
        'hit_rate@20',
        'num_users',
    }
    assert out['precision@20'] == pytest.approx(1 / 3)  # k clamped to 3.

    cache = torch.tensor([[0.0, 1.0, 2.0], [9.0, 0.0, 1.0]])

    def negative_distance(u, i):
        return cache[: u.size(0)]

    out = evaluate_ranking(
        user_emb,
        item_emb,
        train,
        test,
        k=1,
        batch_size=1,
        score_fn=negative_distance,
    )
    # Block 1 (user 0): item 2 masked, item 1 wins (miss); block 2 (user 1)
    # sees cache row 0 again: item 2 wins (miss).
    assert out['recall@1'] == 0.0
    assert cache.tolist() == [[0.0, 1.0, 2.0], [9.0, 0.0, 1.0]]  # Unchanged.
    # Dot product: user 0 ranks item 1 first (item 2 masked), user 1 item 2:
    # both miss. Negative distance: each user's closest item is its test item.
    out = evaluate_ranking(user_emb, item_emb, train, test, k=1)
    assert out['recall@1'] == 0.0
    out = evaluate_ranking(
        user_emb,
        item_emb,
        train,
        test,
        k=1,
        score_fn=lambda u, i: -(u - i.t()).abs(),
    )
    assert out['recall@1'] == 1.0


def test_nan_score_is_refused_not_ranked_first():
    # torch.topk ranks NaN above every number: a NaN for a non-test item
    # once turned a perfect ranking into a miss.
    scores = torch.tensor([[float('nan'), 1.0, 0.0]])
    with pytest.raises(ValueError, match="'scores' must be finite"):
        ranking_metrics(scores, idx([]), idx([(0, 1)]), k=1)
    user_emb = torch.tensor([[1.0], [float('nan')]])
    item_emb = torch.tensor([[1.0], [2.0]])
    with pytest.raises(ValueError, match=r"'user_emb' must be finite"):
        evaluate_ranking(user_emb, item_emb, idx([]), idx([(0, 1)]))


def test_evaluate_ranking_refuses_non_finite_block_scores():
    user_emb = torch.tensor([[1.0], [2.0], [3.0]])
    item_emb = torch.tensor([[1.0], [2.0]])
    test = idx([(0, 0), (2, 1)])

    def nan_for_user_2(u, i):
        out = u @ i.t()
        out[u[:, 0] == 3.0, 1] = float('nan')
        return out

    with pytest.raises(
        ValueError,
        match=r"'score_fn' must return finite scores \(got nan for user 2\)",
    ):
        evaluate_ranking(
            user_emb, item_emb, idx([]), test, score_fn=nan_for_user_2
        )
    # Finite float32 embeddings whose dot product overflows.
    big = torch.full((2, 2), 3e38)
    with pytest.raises(
        ValueError, match=r"'user_emb' @ 'item_emb'.T are not finite"
    ):
        evaluate_ranking(big, big, idx([]), idx([(1, 0)]), batch_size=1)


def test_evaluate_ranking_score_fn_may_take_ids():
    # With score_fn the representations are anything indexable by row:
    # here integer ids into a table of scores.
    table = torch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    out = evaluate_ranking(
        torch.arange(2),
        torch.arange(3),
        idx([]),
        idx([(0, 2), (1, 2)]),
        k=1,
        score_fn=lambda u, i: table[u][:, i],
    )
    assert out['recall@1'] == 0.5 and out['num_users'] == 2


def test_evaluate_ranking_on_gowalla_subset():
    from torch_geometric_negsamp.datasets import load_gowalla

    split = load_gowalla().subset(200, seed=0)
    gen = torch.Generator().manual_seed(0)
    user_emb = torch.randn(split.num_users, 8, generator=gen)
    item_emb = torch.randn(split.num_items, 8, generator=gen)
    out = evaluate_ranking(
        user_emb,
        item_emb,
        split.train_index,
        split.test_index,
        k=20,
        batch_size=64,
    )
    full = ranking_metrics(
        user_emb @ item_emb.t(), split.train_index, split.test_index, k=20
    )
    assert out['recall@20'] == pytest.approx(full['recall'], rel=1e-12)
    assert out['ndcg@20'] == pytest.approx(full['ndcg'], rel=1e-12)
    # Random embeddings: recall near |T_u| * 20 / I on average, far below 1.
    assert 0.0 <= out['recall@20'] < 0.1
