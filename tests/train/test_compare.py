import csv
import dataclasses

import pytest

from torch_geometric_negsamp.train import plots
from torch_geometric_negsamp.train.compare import (
    against_uniform,
    compare_samplers,
    resolve_samplers,
    run_config,
)


def test_one_row_per_sampler_a_csv_and_a_png(
    tmp_path, tiny_split, tiny_config, monkeypatch
):
    lines, plotted = [], []

    def plot_comparison(path, histories, selected, *args):
        plotted.append((path, histories, selected))

    # The figure itself is tested in test_plots.py:
    monkeypatch.setattr(plots, 'plot_comparison', plot_comparison)
    cfg = tiny_config(tmp_path / 'cmp', epochs=2, patience=5, warmup_epochs=1)
    out = compare_samplers(
        cfg, ['Uniform', 'dns', 'ahns'], split=tiny_split, log=lines.append
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
    assert plotted == []  # config.plot is off
    plotted_out = compare_samplers(
        dataclasses.replace(
            cfg, plot=True, epochs=1, out_dir=str(tmp_path / 'p')
        ),
        ['uniform', 'dns'],
        tiny_split,
        log=lines.append,
    )
    [(path, histories, selected)] = plotted
    assert path == str(tmp_path / 'p' / 'compare.png')
    assert list(histories) == ['uniform', 'dns']
    assert histories == plotted_out.histories
    assert len(histories['dns']) == 1
    assert selected == {
        row['sampler']: row['epoch'] for row in plotted_out.rows
    }
    table = out.table().splitlines()
    assert len(table) == 2 + 3 and table[0].startswith('sampler')
    assert all(line.startswith('[') for line in lines)
    # The warm-up went to dns alone (uniform and ahns do not read it):
    assert run_config(cfg, 'dns').warmup_epochs == 1
    assert run_config(cfg, 'uniform').warmup_epochs is None


def test_every_run_stops_at_its_own_best(
    tmp_path, monkeypatch, tiny_split, tiny_config
):
    from torch_geometric_negsamp.train.trainer import Trainer

    def evaluate(self):  # uniform keeps improving, dns peaks at once
        v = self.epoch if self.config.sampler == 'uniform' else -self.epoch
        keys = ('val_recall@20', 'val_ndcg@20', 'test_recall@20')
        return {**{k: float(v) for k in keys}, 'test_ndcg@20': 0.0}

    monkeypatch.setattr(Trainer, 'evaluate', evaluate)
    cfg = tiny_config(tmp_path, epochs=6, patience=2)
    out = compare_samplers(cfg, ['uniform', 'dns'], tiny_split, print)
    uniform, dns = out.rows
    assert (uniform['stop_epoch'], uniform['stop_reason']) == (6, 'epochs')
    assert (dns['stop_epoch'], dns['stop_reason']) == (3, 'patience')
    assert (uniform['epoch'], dns['epoch']) == (6, 1)
    # dns's selected -1 against uniform's 6; below uniform's whole curve:
    assert dns['vs_uniform'] == pytest.approx(-1 / 6 - 1)
    assert dns['above_uniform'] == 0.0
    assert uniform['vs_uniform'] is None and uniform['above_uniform'] is None
    assert '-116.7%' in out.table()


def _curve(values, every=10):
    return [
        {'epoch': every * (i + 1), 'test_recall@20': v}
        for i, v in enumerate(values)
    ]


def test_against_uniform_follows_the_curves_after_the_first_quarter():
    uniform = _curve([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])  # to epoch 80
    early = _curve([0.5, 0.5, 0.5])  # stopped at epoch 30, selected 0.5
    late = _curve([0.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    rows = [
        {'sampler': 'uniform', 'test_recall@20': 0.8},
        {'sampler': 'early', 'test_recall@20': 0.5},
        {'sampler': 'late', 'test_recall@20': 0.9},
        {'sampler': 'failed', 'test_recall@20': None},
    ]
    histories = {'uniform': uniform, 'early': early, 'late': late}
    against_uniform(rows, histories, 20)
    _, early_row, late_row, failed = rows
    assert early_row['vs_uniform'] == pytest.approx(0.5 / 0.8 - 1)
    # Epochs 20..80 count (the first quarter of 80 epochs is left out);
    # from epoch 40 on early's value is its selected checkpoint's 0.5,
    # at or above uniform's at 20, 30, 40 and 50, below at 60, 70, 80:
    assert early_row['above_uniform'] == pytest.approx(4 / 7)
    # late's 0.0 at epoch 10 lies in the first quarter:
    assert late_row['vs_uniform'] == pytest.approx(0.9 / 0.8 - 1)
    assert late_row['above_uniform'] == 1.0
    assert failed['vs_uniform'] is None and failed['above_uniform'] is None
    # Without a uniform run there is nothing to compare with:
    alone = [{'sampler': 'dns', 'test_recall@20': 0.5}]
    against_uniform(alone, {'dns': early}, 20)
    assert alone[0]['vs_uniform'] is None
    assert alone[0]['above_uniform'] is None


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
    tmp_path, samplers, error, needle, tiny_split, tiny_config
):
    with pytest.raises(error, match=needle):
        resolve_samplers(samplers)
    with pytest.raises(error, match=needle):
        compare_samplers(tiny_config(tmp_path / 'cmp'), samplers, tiny_split)
    assert not (tmp_path / 'cmp').exists()


def test_a_setting_one_sampler_refuses_stops_everything(
    tmp_path, tiny_split, tiny_config
):
    cfg = tiny_config(tmp_path / 'cmp', num_neg=5, candidates=4)
    with pytest.raises(ValueError, match="'candidates' \\(4\\) must be at"):
        compare_samplers(cfg, ['uniform', 'ahns'], tiny_split)
    assert not (tmp_path / 'cmp').exists()


def test_the_plot_title_names_a_folder_dataset_by_its_folder():
    from types import SimpleNamespace

    from torch_geometric_negsamp.train.compare import _data_name

    folder = SimpleNamespace(dataset='folder', data_root='/data/lastfm/')
    assert _data_name(folder) == 'folder lastfm'
    named = SimpleNamespace(dataset='gowalla', data_root=None)
    assert _data_name(named) == 'gowalla'
