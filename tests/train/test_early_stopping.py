import pytest

from torch_geometric_negsamp.train.early_stopping import EarlyStopping


def _history(values, key='val_recall@20'):
    return [{'epoch': 5 * (i + 1), key: v} for i, v in enumerate(values)]


def test_counts_the_evaluations_after_the_first_best():
    rule = EarlyStopping(2)
    assert rule.evaluations_since_best([]) == 0
    assert rule.evaluations_since_best(_history([0.1, 0.3, 0.2])) == 1
    # A tie is no improvement: the first best stays the best.
    assert rule.evaluations_since_best(_history([0.3, 0.3, 0.3])) == 2


def test_stops_after_patience_evaluations_without_improvement():
    rule = EarlyStopping(2)
    assert rule.reason(_history([0.1, 0.3, 0.2])) is None
    assert rule.reason(_history([0.1, 0.3, 0.2, 0.4, 0.35])) is None
    why = rule.reason(_history([0.1, 0.3, 0.2, 0.25]))
    assert why == (
        'early stop: val_recall@20 has not improved for 2 evaluations '
        '(patience 2)'
    )


def test_no_patience_never_stops_and_the_key_is_read():
    assert EarlyStopping(None).reason(_history([0.3] + [0.1] * 50)) is None
    rule = EarlyStopping(1, key='test_recall@10')
    history = _history([0.2, 0.1], key='test_recall@10')
    assert rule.reason(history).startswith('early stop: test_recall@10')
    with pytest.raises(KeyError):
        rule.reason(_history([0.2]))


def test_bad_arguments_and_repr():
    with pytest.raises(ValueError, match="'patience' must be a positive"):
        EarlyStopping(0)
    with pytest.raises(TypeError, match="'patience' must be an int"):
        EarlyStopping(1.5)
    with pytest.raises(TypeError, match="'key' must be a str"):
        EarlyStopping(2, key=3)
    assert repr(EarlyStopping(3)) == (
        "EarlyStopping(patience=3, key='val_recall@20')"
    )
