import csv
import dataclasses

import pytest
import torch

from torch_geometric_negsamp.train import plots
from torch_geometric_negsamp.train.compare import (
    against_uniform,
    compare_samplers,
    paired_gain,
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
    # Each gain comes with its paired interval from the per-user values:
    for row in out.rows[1:]:
        low, high = row['vs_uniform_low'], row['vs_uniform_high']
        assert low <= row['vs_uniform'] <= high
    assert out.rows[0]['vs_uniform'] is None
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
    # Against another reference, named:
    again = [dict(row) for row in rows[1:3]]
    against_uniform(again, histories, 20, reference='early')
    assert again[0]['vs_uniform'] is None  # the reference itself
    assert again[1]['vs_uniform'] == pytest.approx(0.9 / 0.5 - 1)
    # early's run ends at epoch 30, so its first quarter ends at 7.5:
    # late's 0.0 at epoch 10 now counts, below early's 0.5.
    assert again[1]['above_uniform'] == pytest.approx(2 / 3)
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


def test_paired_gain_is_the_ratio_of_means_with_a_paired_interval():
    gen = torch.Generator().manual_seed(0)
    reference = torch.rand(1000, generator=gen, dtype=torch.float64)
    # The same users, every one 10% better: every resample agrees.
    gain, low, high = paired_gain(1.1 * reference, reference)
    assert gain == pytest.approx(0.1) and low == pytest.approx(0.1)
    assert high == pytest.approx(0.1)
    # Noise around a 5% gain: the interval holds the estimate, and four
    # times the users halve its width (within sampling error).
    widths = []
    for n in (1000, 4000):
        ref = torch.rand(n, generator=gen, dtype=torch.float64)
        val = 1.05 * ref + 0.2 * torch.randn(n, generator=gen).double()
        gain, low, high = paired_gain(val, ref, seed=3)
        assert low < gain < high
        assert gain == pytest.approx(float(val.mean() / ref.mean()) - 1)
        widths.append(high - low)
    assert 0.4 < widths[1] / widths[0] < 0.6
    # Seeded: the same seed repeats the interval, another one moves it.
    assert paired_gain(val, ref, seed=3) == (gain, low, high)
    assert paired_gain(val, ref, seed=4)[1:] != (low, high)
    # A wider level gives a wider interval around the same estimate:
    _, low99, high99 = paired_gain(val, ref, level=0.99, seed=3)
    assert low99 < low and high < high99


def test_paired_gain_covers_the_true_gain_at_its_level():
    # Coverage with a fixed seed: 200 samples of 300 users whose metric is
    # 1.05 times the reference's plus zero-mean noise (a true gain of 5%);
    # the 90% interval should hold 0.05 about 180 times (binomial sd 4.2).
    gen = torch.Generator().manual_seed(1)
    hits = 0
    for trial in range(200):
        ref = torch.rand(300, generator=gen, dtype=torch.float64)
        _, low, high = paired_gain(
            1.05 * ref + 0.1 * torch.randn(300, generator=gen).double(),
            ref,
            resamples=300,
            level=0.9,
            seed=trial,
        )
        hits += low <= 0.05 <= high
    assert 165 <= hits <= 195


@pytest.mark.parametrize(
    'args,error,match',
    [
        (
            dict(values=[0.1]),
            TypeError,
            r"'values' must be a torch.Tensor \(got list\)",
        ),
        (
            dict(values=torch.ones(3, dtype=torch.long)),
            TypeError,
            "'values' must be a floating-point tensor",
        ),
        (dict(values=torch.ones(3, 1)), ValueError, "'values'"),
        (
            dict(values=torch.ones(4)),
            ValueError,
            "'values' must have the shape of 'reference'",
        ),
        (
            dict(values=torch.ones(0), reference=torch.ones(0)),
            ValueError,
            "'values' must hold at least one user",
        ),
        (
            dict(values=torch.tensor([1.0, float('nan'), 1.0])),
            ValueError,
            "'values' must be finite",
        ),
        (
            dict(reference=torch.zeros(3)),
            ValueError,
            "'reference' must have a positive mean",
        ),
        (dict(resamples=0), ValueError, "'resamples' must be a positive"),
        (dict(resamples=10**6 + 1), ValueError, "'resamples' must be at most"),
        (dict(resamples=2.0), TypeError, "'resamples' must be an int"),
        (dict(level=1.0), ValueError, r"'level' must be in \(0, 1\)"),
        (dict(level=0), ValueError, r"'level' must be in \(0, 1\)"),
        (dict(seed='x'), TypeError, "'seed'"),
    ],
)
def test_paired_gain_refuses_bad_input(args, error, match):
    kwargs = dict(values=torch.ones(3), reference=torch.ones(3))
    kwargs.update(args)
    with pytest.raises(error, match=match):
        paired_gain(**kwargs)


def test_the_interval_needs_per_user_values():
    # Without per-user values there is no interval; with them there is one
    # around the gain:
    rows = [
        {'sampler': 'uniform', 'test_recall@20': 0.5},
        {'sampler': 'dns', 'test_recall@20': 0.55},
    ]
    against_uniform(rows, {}, 20)
    assert rows[1]['vs_uniform_low'] is None
    reference = torch.linspace(0.0, 1.0, 101, dtype=torch.float64)
    per = {'uniform': reference, 'dns': 1.1 * reference}
    against_uniform(rows, {}, 20, per, seed=0)
    assert rows[1]['vs_uniform_low'] == pytest.approx(0.1)
    assert rows[1]['vs_uniform_high'] == pytest.approx(0.1)
    assert rows[0]['vs_uniform_low'] is None  # uniform itself


def test_paired_gain_with_a_reference_that_resamples_to_zero():
    # One user in ten scores under the reference, more under the model: some
    # resamples leave the reference at 0 (an infinite gain), some both (no
    # gain, left out); the interval is still ordered, never NaN.
    reference = torch.zeros(10, dtype=torch.float64)
    reference[0] = 1.0
    values = torch.zeros(10, dtype=torch.float64)
    values[:3] = 1.0
    gain, low, high = paired_gain(values, reference, resamples=500)
    assert gain == pytest.approx(2.0)
    assert low <= gain and high == float('inf')


@pytest.mark.parametrize(
    'args,error,match',
    [
        (dict(k='20'), TypeError, "'k' must be an int"),
        (dict(k=0), ValueError, "'k' must be a positive"),
        (dict(reference=3), TypeError, "'reference' must be"),
        (dict(per_user=[1]), TypeError, "'per_user' must be"),
        (
            dict(per_user={'dns': torch.ones(3, dtype=torch.long)}),
            TypeError,
            r"'per_user\['dns'\]' must be a floating-point",
        ),
        (
            dict(per_user={'uniform': torch.ones(3), 'dns': torch.ones(4)}),
            ValueError,
            r"one value per test user .* 4 for 'dns', 3 for 'uniform'",
        ),
        (dict(seed='x'), TypeError, "'seed'"),
    ],
)
def test_against_uniform_refuses_bad_input_before_any_row_changes(
    args, error, match
):
    rows = [
        {'sampler': 'uniform', 'test_recall@20': 0.5},
        {'sampler': 'dns', 'test_recall@20': 0.6},
    ]
    kwargs = dict(rows=rows, histories={}, k=20)
    kwargs.update(args)
    with pytest.raises(error, match=match):
        against_uniform(**kwargs)
    assert all('vs_uniform' not in row for row in rows)
