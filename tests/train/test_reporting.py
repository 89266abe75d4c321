import csv
import json
import sys

import pytest

from torch_geometric_negsamp.train.reporting import (
    best_line,
    epoch_line,
    plot_curves,
    progress_bar,
    write_csv,
    write_json,
)

HISTORY = [
    {
        'epoch': 5,
        'train_seconds': 1.25,
        'loss': 0.5,
        'val_recall@20': 0.1,
        'test_recall@20': 0.2,
        'test_ndcg@20': 0.15,
    },
    {
        'epoch': 10,
        'train_seconds': 2.5,
        'loss': 0.25,
        'val_recall@20': 0.3,
        'test_recall@20': 0.4,
        'test_ndcg@20': 0.35,
    },
]


def test_write_csv_one_row_per_evaluation(tmp_path):
    path = tmp_path / 'metrics.csv'
    write_csv(str(path), HISTORY)
    rows = list(csv.DictReader(open(path)))
    assert [float(r['loss']) for r in rows] == [0.5, 0.25]
    assert list(rows[0]) == list(HISTORY[0])
    write_csv(str(tmp_path / 'empty.csv'), [])
    assert not (tmp_path / 'empty.csv').exists()


def test_write_json(tmp_path):
    path = tmp_path / 'metrics.json'
    write_json(str(path), {'seed': 0}, 'cpu', HISTORY, HISTORY[1], 'val')
    assert json.loads(path.read_text()) == {
        'config': {'seed': 0},
        'device': 'cpu',
        'history': HISTORY,
        'best': HISTORY[1],
        'selected_on': 'val',
    }


def test_log_lines():
    line = epoch_line(10, 2.5, 0.25, {'test_recall@20': 0.4})
    assert (
        line == 'epoch   10 |      2.5s | loss 0.2500 | test_recall@20 0.4000'
    )
    assert best_line(HISTORY[1], 20, 'val') == (
        'best checkpoint (selected on validation): epoch 10, '
        'test recall@20 0.4000, test ndcg@20 0.3500'
    )
    assert 'TEST (optimistic)' in best_line(HISTORY[1], 20, 'test')


def test_plot_curves_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    path = tmp_path / 'curve.png'
    assert plot_curves(str(path), HISTORY, 20, 'title')
    assert path.read_bytes().startswith(b'\x89PNG')
    assert not plot_curves(str(tmp_path / 'none.png'), [], 20, 'title')
    assert not (tmp_path / 'none.png').exists()


def test_without_matplotlib_no_plot_and_a_warning(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    with pytest.warns(UserWarning, match='matplotlib is not installed'):
        assert not plot_curves(str(tmp_path / 'c.png'), HISTORY, 20, 't')
    assert not (tmp_path / 'c.png').exists()


def test_progress_bar_disabled_or_without_tqdm(monkeypatch):
    assert progress_bar(3, 'epoch 1', enabled=False) is None
    monkeypatch.setitem(sys.modules, 'tqdm', None)
    monkeypatch.setitem(sys.modules, 'tqdm.auto', None)
    assert progress_bar(3, 'epoch 1') is None
