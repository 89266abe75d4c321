import struct

import pytest

from torch_geometric_negsamp.train import plots


def _history(scale, fnr=0.1):
    return [
        {
            'epoch': e,
            'train_seconds': 2.0 * e,
            'val_recall@20': scale * e,
            'test_recall@20': scale * e,
            'test_ndcg@20': scale * e / 2,
            'neg_false_negative_rate': fnr,
            'neg_false_negative_split': 'val',
            'neg_hardness': 0.5,
            'neg_popularity_ratio': 0.9,
            'neg_short_rows': 0,
            'neg_sampling_share': 0.2,
        }
        for e in (1, 2, 3)
    ]


def _png_size(path):
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', header[16:24])


def test_the_comparison_is_one_png_of_curves_and_diagnostics(tmp_path):
    pytest.importorskip('matplotlib')
    path = str(tmp_path / 'compare.png')
    histories = {'uniform': _history(0.1), 'dens': _history(0.2, fnr=None)}
    assert plots.plot_comparison(
        path, histories, {'uniform': 3, 'dens': 2}, 20, 'val', 'title'
    )
    # Four rows of panels, 3.5 in each, at 100 dpi:
    assert _png_size(path) == (1100, 1400)


def test_nothing_to_plot_writes_nothing(tmp_path):
    path = tmp_path / 'compare.png'
    assert not plots.plot_comparison(str(path), {'a': []}, {}, 20, 'val', '')
    assert not path.exists()


def test_diagnostics_are_recognised_and_gaps_skipped():
    assert plots.has_diagnostics(_history(0.1))
    assert not plots.has_diagnostics([{'epoch': 1, 'loss': 0.5}])
    assert not plots.has_diagnostics([])
    rows = _history(0.1, fnr=None)
    rows[1]['neg_false_negative_rate'] = 0.3
    x, y = plots._series(rows, 'epoch', 'neg_false_negative_rate')
    assert (x, y) == ([2], [0.3])
