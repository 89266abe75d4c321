import sys

import pytest

from torch_geometric_negsamp.train.tensorboard import TensorBoardLogger, tag_of

ROWS = [
    {
        'epoch': 5,
        'loss': 0.5,
        'val_recall@20': 0.1,
        'neg_hardness': 0.75,
        'neg_false_negative_split': 'val',
        'neg_sampling_share': None,
    },
    {'epoch': 10, 'loss': 0.25, 'val_recall@20': 0.3, 'neg_hardness': 0.8},
]


def test_tags_group_the_columns():
    assert tag_of('val_recall@20') == 'val/recall@20'
    assert tag_of('test_ndcg@20') == 'test/ndcg@20'
    assert tag_of('neg_hardness') == 'negatives/hardness'
    assert tag_of('loss') == 'train/loss'


def test_a_missing_package_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    with pytest.raises(ImportError, match=r"pip install 'torch_geometric_"):
        TensorBoardLogger(str(tmp_path))


def test_bad_log_dir():
    with pytest.raises(TypeError, match="'tensorboard' must be"):
        TensorBoardLogger(3)


def test_events_are_written(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    logger = TensorBoardLogger(str(tmp_path / 'tb'))
    assert repr(logger) == f"TensorBoardLogger('{tmp_path / 'tb'}')"
    for row in ROWS:
        logger.log(row)
    logger.close()
    logger.close()
    with pytest.raises(ValueError, match='is closed'):
        logger.log(ROWS[0])
    events = EventAccumulator(str(tmp_path / 'tb'))
    events.Reload()
    assert sorted(events.Tags()['scalars']) == [
        'negatives/hardness',
        'train/loss',
        'val/recall@20',
    ]
    recall = [(e.step, e.value) for e in events.Scalars('val/recall@20')]
    assert recall == [(5, pytest.approx(0.1)), (10, pytest.approx(0.3))]
