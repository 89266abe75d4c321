import csv

import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train import TrainConfig
from torch_geometric_negsamp.train.compare import (
    compare_samplers,
    resolve_samplers,
    run_config,
)


def _tiny_split(seed=0):
    gen = torch.Generator().manual_seed(seed)
    U, I = 30, 40
    users = torch.arange(U).repeat_interleave(8)
    offset = (users >= 15).long() * 20
    items = offset + torch.randint(20, (users.numel(),), generator=gen)
    pairs = torch.unique(torch.stack([users, items]), dim=1)
    test_mask = torch.rand(pairs.size(1), generator=gen) < 0.2
    return InteractionSplit(pairs[:, ~test_mask], pairs[:, test_mask], U, I)


def _config(path, **kwargs):
    base = dict(
        out_dir=str(path),
        progress=False,
        plot=False,
        embedding_dim=8,
        num_layers=1,
        batch_size=64,
        lr=0.01,
        epochs=2,
        eval_every=1,
        eval_batch_size=16,
        candidates=4,
    )
    base.update(kwargs)
    return TrainConfig(**base)


def test_one_row_per_sampler_a_csv_and_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    lines = []
    cfg = _config(tmp_path / 'cmp', plot=True, patience=5, warmup_epochs=1)
    out = compare_samplers(
        cfg, ['Uniform', 'dns', 'ahns'], split=_tiny_split(), log=lines.append
    )
    assert [row['sampler'] for row in out.rows] == ['uniform', 'dns', 'ahns']
    with open(tmp_path / 'cmp' / 'compare.csv') as f:
        rows = list(csv.DictReader(f))
    assert [row['sampler'] for row in rows] == ['uniform', 'dns', 'ahns']
    for row in rows:
        assert row['stop_reason'] == 'epochs' and row['stop_epoch'] == '2'
        assert 0 <= float(row['neg_hardness']) <= 1
        assert 0 <= float(row['neg_false_negative_rate']) <= 1
        # The row is the selected evaluation of that sampler's own run:
        with open(tmp_path / 'cmp' / row['sampler'] / 'metrics.csv') as f:
            history = list(csv.DictReader(f))
        best = max(history, key=lambda h: float(h['val_recall@20']))
        assert row['epoch'] == best['epoch']
        assert row['test_recall@20'] == best['test_recall@20']
    png = (tmp_path / 'cmp' / 'compare.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    table = out.table().splitlines()
    assert len(table) == 2 + 3 and table[0].startswith('sampler')
    assert all(line.startswith('[') for line in lines)
    # The warm-up went to dns alone (uniform and ahns do not read it):
    assert run_config(cfg, 'dns').warmup_epochs == 1
    assert run_config(cfg, 'uniform').warmup_epochs is None


def test_every_run_stops_at_its_own_best(tmp_path, monkeypatch):
    from torch_geometric_negsamp.train.trainer import Trainer

    def evaluate(self):  # uniform keeps improving, dns peaks at once
        v = self.epoch if self.config.sampler == 'uniform' else -self.epoch
        keys = ('val_recall@20', 'val_ndcg@20', 'test_recall@20')
        return {**{k: float(v) for k in keys}, 'test_ndcg@20': 0.0}

    monkeypatch.setattr(Trainer, 'evaluate', evaluate)
    cfg = _config(tmp_path, epochs=6, patience=2)
    out = compare_samplers(cfg, ['uniform', 'dns'], _tiny_split(), print)
    uniform, dns = out.rows
    assert (uniform['stop_epoch'], uniform['stop_reason']) == (6, 'epochs')
    assert (dns['stop_epoch'], dns['stop_reason']) == (3, 'patience')
    assert (uniform['epoch'], dns['epoch']) == (6, 1)


@pytest.mark.parametrize(
    'samplers,error,needle',
    [
        ('uniform', TypeError, "'samplers' must be a list"),
        ([], ValueError, "'samplers' must name at least one"),
        (['dns', 'DNS'], ValueError, "'samplers' names 'dns' twice"),
        (['uniform', 'nope'], ValueError, "'samplers' names no known"),
    ],
)
def test_bad_sampler_lists_are_refused_before_any_work(
    tmp_path, samplers, error, needle
):
    with pytest.raises(error, match=needle):
        resolve_samplers(samplers)
    with pytest.raises(error, match=needle):
        compare_samplers(_config(tmp_path / 'cmp'), samplers, _tiny_split())
    assert not (tmp_path / 'cmp').exists()


def test_a_setting_one_sampler_refuses_stops_everything(tmp_path):
    cfg = _config(tmp_path / 'cmp', num_neg=5, candidates=4)
    with pytest.raises(ValueError, match="'candidates' \\(4\\) must be at"):
        compare_samplers(cfg, ['uniform', 'ahns'], _tiny_split())
    assert not (tmp_path / 'cmp').exists()
