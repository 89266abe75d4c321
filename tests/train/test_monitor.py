import csv
import json
import struct

import pytest
import torch

from torch_geometric_negsamp.train import Trainer, config
from torch_geometric_negsamp.train import tensorboard as tb_module
from torch_geometric_negsamp.train.diagnostics import DIAGNOSTIC_KEYS

ALL_SAMPLERS = [
    'uniform',
    'popularity',
    'dns',
    'softmax',
    'mixgcf',
    'inbatch',
    'cache',
    'queue',
    'ahns',
    'dens',
    'srns',
]


@pytest.mark.parametrize('sampler', ALL_SAMPLERS)
def test_every_row_carries_the_diagnostics_in_range(
    tmp_path, tiny_split, sampler, tiny_config
):
    trainer = Trainer(
        tiny_config(tmp_path, sampler=sampler),
        log=lambda s: None,
        split=tiny_split,
    )
    trainer.fit()
    with open(tmp_path / 'metrics.csv') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and set(DIAGNOSTIC_KEYS) <= set(rows[0])
    row = json.loads((tmp_path / 'metrics.json').read_text())['history'][0]
    for key in (
        'neg_false_negative_rate',
        'neg_hardness',
        'neg_sampling_share',
    ):
        assert 0 <= row[key] <= 1, (key, row[key])
    assert row['neg_popularity_ratio'] > 0
    assert row['neg_short_rows'] == 0
    assert row['neg_false_negative_split'] == 'val'


def test_without_validation_the_test_split_is_named(
    tmp_path, tiny_split, tiny_config
):
    cfg = tiny_config(tmp_path, val_fraction=0.0, select_on='test')
    trainer = Trainer(cfg, log=lambda s: None, split=tiny_split)
    row = trainer.fit().history[0]
    assert row['neg_false_negative_split'] == 'test'
    assert 0 <= row['neg_false_negative_rate'] <= 1


def _quiet(line):
    pass


def _scripted(monkeypatch, values):
    # The validation Recall of the evaluation after epoch e is values[e-1].
    def evaluate(self):
        v = values[self.epoch - 1]
        return {
            'val_recall@20': v,
            'val_ndcg@20': v,
            'test_recall@20': v,
            'test_ndcg@20': v,
        }

    monkeypatch.setattr(Trainer, 'evaluate', evaluate)


def test_early_stopping_stops_restores_and_resumes_alike(
    tmp_path, tiny_split, monkeypatch, tiny_config
):
    _scripted(monkeypatch, [0.1, 0.3, 0.2, 0.25, 0.5, 0.6, 0.7, 0.8])
    kwargs = dict(epochs=8, patience=2)
    a = Trainer(
        tiny_config(tmp_path / 'a', **kwargs), lambda s: None, tiny_split
    )
    result = a.fit()
    # Best at epoch 2, two evaluations without improvement: stop after 4.
    assert result.stop_reason == 'patience' and result.stop_epoch == 4
    assert [row['epoch'] for row in result.history] == [1, 2, 3, 4]
    assert result.best['epoch'] == 2
    # The model handed back is the one of epoch 2:
    two = Trainer(
        tiny_config(tmp_path / 'two', epochs=2), lambda s: None, tiny_split
    )
    two.fit()
    for (name, x), (_, y) in zip(
        a.model.state_dict().items(), two.model.state_dict().items()
    ):
        assert torch.equal(x, y), name
    # Interrupted after epoch 3, resumed: it stops where `a` stopped.
    b = Trainer(
        tiny_config(tmp_path / 'b', epochs=3, patience=2), _quiet, tiny_split
    )
    assert b.fit().stop_reason == 'epochs'
    lines = []
    c = Trainer(
        tiny_config(tmp_path / 'b', resume=True, **kwargs),
        lines.append,
        tiny_split,
    )
    result = c.fit()
    assert result.stop_epoch == 4 and result.stop_reason == 'patience'
    assert any('early stop' in line for line in lines)
    # Each evaluation's log line shows what the sampler did:
    assert any(
        line.startswith('epoch    4') and '| hardness 0.' in line
        for line in lines
    )
    # Negative control: without patience the run goes on to epoch 8.
    d = Trainer(
        tiny_config(tmp_path / 'd', epochs=8), lambda s: None, tiny_split
    )
    assert d.fit().stop_epoch == 8


def test_patience_zero_never_stops(
    tmp_path, tiny_split, monkeypatch, tiny_config
):
    _scripted(monkeypatch, [0.5, 0.1, 0.1, 0.1])
    cfg = tiny_config(tmp_path, epochs=4, patience=0)
    assert Trainer(cfg, lambda s: None, tiny_split).fit().stop_epoch == 4


def test_every_evaluation_reaches_tensorboard(
    tmp_path, tiny_split, monkeypatch, tiny_config
):
    logged, closed = [], []

    class FakeLogger:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def log(self, row):
            logged.append(dict(row))

        def close(self):
            closed.append(self.log_dir)

    monkeypatch.setattr(config, 'check_tensorboard', lambda: None)
    monkeypatch.setattr(tb_module, 'TensorBoardLogger', FakeLogger)
    cfg = tiny_config(tmp_path, epochs=2, tensorboard=str(tmp_path / 'tb'))
    Trainer(cfg, lambda s: None, tiny_split).fit()
    assert [row['epoch'] for row in logged] == [1, 2]
    assert 'neg_hardness' in logged[0] and closed == [str(tmp_path / 'tb')]


def test_tensorboard_missing_is_a_clear_error(
    tmp_path, monkeypatch, tiny_config
):
    import importlib.util

    if importlib.util.find_spec('tensorboard') is not None:
        pytest.skip('tensorboard is installed')
    cfg = tiny_config(tmp_path, tensorboard=str(tmp_path / 'tb'))
    with pytest.raises(ImportError, match=r"'tensorboard' \(--tensorboard\)"):
        cfg.validate()
    assert not (tmp_path / 'tb').exists()


def _png_height(path):
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>I', header[20:24])[0]


def test_the_curves_show_the_diagnostics(tmp_path, tiny_split, tiny_config):
    pytest.importorskip('matplotlib')
    cfg = tiny_config(tmp_path, plot=True)
    Trainer(cfg, lambda s: None, tiny_split).fit()
    # Two rows of Recall / NDCG plus three of diagnostics, 3.5 in each:
    assert _png_height(tmp_path / 'curve.png') == 1750
