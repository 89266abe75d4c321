r"""The bad-input errors of the ranking metrics: every raise path."""

import pytest
import torch
from tiny_tensors import idx

from torch_geometric_negsamp.metrics import (
    evaluate_ranking,
    evaluate_ranking_per_user,
    ranking_metric_sums,
    ranking_metrics,
)


@pytest.mark.parametrize(
    'args,error,match',
    [
        (dict(scores=[[1.0]]), TypeError, "'scores' must be a torch.Tensor"),
        (dict(scores=torch.zeros(3)), ValueError, "'scores' must have shape"),
        (
            dict(scores=torch.zeros(2, 3, dtype=torch.long)),
            TypeError,
            "'scores' must be a floating-point tensor",
        ),
        (
            dict(scores=torch.zeros(2, 0)),
            ValueError,
            r"'scores' must have shape \[U, I\] with I > 0",
        ),
        (
            dict(scores=torch.zeros(2, 3, device='meta')),
            ValueError,
            "'scores' is on meta",
        ),
        (
            dict(scores=torch.tensor([[0.0, float('nan'), 0.0], [0.0] * 3])),
            ValueError,
            r"'scores' must be finite \(got nan",
        ),
        (
            dict(scores=torch.tensor([[0.0, float('inf'), 0.0], [0.0] * 3])),
            ValueError,
            r"'scores' must be finite \(got inf",
        ),
        (
            dict(scores=torch.tensor([[0.0, -float('inf'), 0.0], [0.0] * 3])),
            ValueError,
            r"'scores' must be finite \(got -inf",
        ),
        (dict(k=0), ValueError, "'k' must be a positive integer"),
        (dict(k=1.0), TypeError, "'k' must be an int"),
        (dict(k=True), TypeError, "'k' must be an int"),
        (dict(k=[1, 2]), TypeError, "'k' must be an int"),
        (
            dict(train_index=torch.zeros(2)),
            ValueError,
            r"'train_index' must have shape \[2, E\]",
        ),
        (
            dict(train_index=torch.zeros(2, 1)),
            TypeError,
            "'train_index' must hold integer ids",
        ),
        (
            dict(test_index=idx([(2, 0)])),
            ValueError,
            r"'test_index' holds user ids in \[2, 2\], outside \[0, 1\]",
        ),
        (
            dict(test_index=idx([(0, 3)])),
            ValueError,
            r"'test_index' holds item ids in \[3, 3\], outside \[0, 2\]",
        ),
        (dict(test_index=(0, 1)), TypeError, "'test_index' must be a torch"),
        (dict(test_index=idx([])), ValueError, "'test_index' holds no pair"),
    ],
)
def test_ranking_metrics_errors(args, error, match):
    kwargs = dict(
        scores=torch.zeros(2, 3),
        train_index=idx([(0, 0)]),
        test_index=idx([(1, 1)]),
        k=1,
    )
    kwargs.update(args)
    with pytest.raises(error, match=match):
        ranking_metrics(**kwargs)
    if 'holds no pair' not in match:  # Allowed for the sums.
        with pytest.raises(error, match=match):
            ranking_metric_sums(**kwargs)


@pytest.mark.parametrize(
    'args,error,match',
    [
        (dict(user_emb=None), TypeError, "'user_emb' must be a torch.Tensor"),
        (
            dict(item_emb=torch.zeros(0, 2)),
            ValueError,
            "'item_emb' must have at least one row",
        ),
        (
            dict(item_emb=torch.zeros(3, 5)),
            ValueError,
            "dot-product score needs 'user_emb'",
        ),
        (dict(user_emb=torch.zeros(2)), ValueError, 'dot-product score'),
        (
            dict(user_emb=torch.zeros(2, 2, dtype=torch.long)),
            TypeError,
            "'user_emb' must be a floating-point tensor",
        ),
        (
            dict(item_emb=torch.full((3, 2), float('inf'))),
            ValueError,
            r"'item_emb' must be finite \(got inf",
        ),
        (
            dict(user_emb=torch.zeros(2, 2, device='meta')),
            ValueError,
            "'user_emb' is on meta",
        ),
        (dict(score_fn='dot'), TypeError, "'score_fn' must be callable"),
        (
            dict(score_fn=lambda u, i: torch.zeros(3, 3)),
            ValueError,
            r"'score_fn' must return scores of shape \[2, 3\] "
            r'\(got \[3, 3\]\)',
        ),
        (
            dict(score_fn=lambda u, i: None),
            TypeError,
            r"'score_fn' must return a floating-point tensor \(got NoneType\)",
        ),
        (
            dict(score_fn=lambda u, i: torch.zeros(2, 3, dtype=torch.long)),
            TypeError,
            r"'score_fn' must return a floating-point tensor \(got torch.int",
        ),
        (dict(k=[]), ValueError, "'k' must not be an empty list"),
        (
            dict(k=[1, -1]),
            ValueError,
            r"'k' must be a positive integer \(got -1",
        ),
        (dict(batch_size=0), ValueError, "'batch_size' must be a positive"),
        (dict(batch_size=2.0), TypeError, "'batch_size' must be an int"),
        (dict(k=[2, True]), TypeError, "'k' must be an int"),
        (
            dict(
                user_emb=torch.zeros(1, 2).expand(2**21, 2),
                item_emb=torch.zeros(1, 2).expand(2**21, 2),
                batch_size=2**21,
            ),
            ValueError,
            r"'batch_size' asks for blocks of scores of .* GiB\), more than",
        ),
        (
            dict(train_index=idx([(0, 7)])),
            ValueError,
            r"'train_index' holds item ids in \[7, 7\]",
        ),
        (dict(test_index=idx([])), ValueError, "'test_index' holds no pair"),
    ],
)
def test_evaluate_ranking_errors(args, error, match):
    kwargs = dict(
        user_emb=torch.zeros(2, 2),
        item_emb=torch.zeros(3, 2),
        train_index=idx([(0, 0)]),
        test_index=idx([(0, 1), (1, 1)]),
    )
    kwargs.update(args)
    for evaluate in (evaluate_ranking, evaluate_ranking_per_user):
        with pytest.raises(error, match=match):
            evaluate(**kwargs)
