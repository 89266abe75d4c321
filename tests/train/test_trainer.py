import json

import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit, load_gowalla
from torch_geometric_negsamp.train import (
    Context,
    TrainConfig,
    Trainer,
    build_strategy,
    strategy_names,
)


@pytest.fixture(scope='module')
def gowalla_slice():
    return load_gowalla().subset(300, seed=0)


def _tiny_split(seed=0):
    gen = torch.Generator().manual_seed(seed)
    U, I = 30, 40
    # Two communities: users < 15 like items < 20, the others items >= 20.
    users = torch.arange(U).repeat_interleave(8)
    offset = (users >= 15).long() * 20
    items = offset + torch.randint(20, (users.numel(),), generator=gen)
    pairs = torch.unique(torch.stack([users, items]), dim=1)
    test_mask = torch.rand(pairs.size(1), generator=gen) < 0.2
    return InteractionSplit(pairs[:, ~test_mask], pairs[:, test_mask], U, I)


def _config(tmp_path, **kwargs):
    base = dict(
        out_dir=str(tmp_path / 'run'),
        progress=False,
        plot=False,
        embedding_dim=8,
        num_layers=2,
        batch_size=64,
        lr=0.01,
        epochs=2,
        eval_every=1,
        eval_batch_size=16,
        candidates=4,
    )
    base.update(kwargs)
    return TrainConfig(**base)


def test_end_to_end_beats_random_ranking_by_far(tmp_path, gowalla_slice):
    config = _config(
        tmp_path,
        embedding_dim=32,
        num_layers=2,
        batch_size=512,
        lr=0.01,
        epochs=10,
        eval_every=10,
        eval_batch_size=300,
        plot=True,
    )
    trainer = Trainer(config, log=lambda s: None, split=gowalla_slice)
    untrained = trainer.evaluate()['test_recall@20']
    result = trainer.fit()
    recall = result.best['test_recall@20']
    # A random ranking finds a test item in the top 20 with probability
    # about 20 / (number of items); the untrained model is such a ranking.
    random_recall = max(untrained, 20 / gowalla_slice.num_items)
    assert recall > 5 * random_recall, (recall, random_recall)
    out = tmp_path / 'run'
    for name in (
        'metrics.csv',
        'metrics.json',
        'curve.png',
        'best.pt',
        'checkpoint.pt',
    ):
        assert (out / name).exists(), name
    saved = json.loads((out / 'metrics.json').read_text())
    assert saved['best']['test_recall@20'] == pytest.approx(recall)
    assert saved['selected_on'] == 'val'


def test_resume_equals_uninterrupted_run(tmp_path):
    split = _tiny_split()
    a = Trainer(
        _config(tmp_path / 'a', epochs=3), log=lambda s: None, split=split
    )
    a.fit()
    b = Trainer(
        _config(tmp_path / 'b', epochs=2), log=lambda s: None, split=split
    )
    b.fit()
    lines = []
    c = Trainer(
        _config(tmp_path / 'b', epochs=3, resume=True),
        log=lines.append,
        split=split,
    )
    c.fit()
    assert any('resumed' in line and 'epoch 2' in line for line in lines)
    for (name, x), (_, y) in zip(
        a.model.state_dict().items(), c.model.state_dict().items()
    ):
        assert torch.equal(x, y), name

    def strip(history):  # timings differ, everything else must not
        return [
            {k: v for k, v in row.items() if k != 'train_seconds'}
            for row in history
        ]

    assert strip(a.result.history) == strip(c.result.history)
    # Negative control: a different seed gives a different model.
    d = Trainer(
        _config(tmp_path / 'd', epochs=3, seed=1),
        log=lambda s: None,
        split=split,
    )
    d.fit()
    assert not torch.equal(d.model.embedding.weight, a.model.embedding.weight)


def test_resume_refuses_a_different_configuration(tmp_path):
    split = _tiny_split()
    Trainer(_config(tmp_path, epochs=1), log=lambda s: None, split=split).fit()
    with pytest.raises(ValueError, match='trained with lr=0.01, not 0.02'):
        Trainer(
            _config(tmp_path, epochs=2, lr=0.02, resume=True),
            log=lambda s: None,
            split=split,
        ).fit()


@pytest.mark.parametrize('sampler', strategy_names())
@pytest.mark.parametrize('encoder', ['lightgcn', 'ngcf', 'pinsage'])
def test_every_sampler_and_encoder_trains(tmp_path, sampler, encoder):
    split = _tiny_split()
    config = _config(
        tmp_path,
        sampler=sampler,
        encoder=encoder,
        epochs=1,
        num_neg=2,
        val_fraction=0.0,
        select_on='test',
    )
    trainer = Trainer(config, log=lambda s: None, split=split)
    before = trainer.model.embedding.weight.detach().clone()
    result = trainer.fit()
    assert torch.isfinite(torch.tensor(result.history[-1]['loss']))
    assert not torch.equal(before, trainer.model.embedding.weight)
    assert result.selected_on == 'test'


def test_model_aware_negatives_are_never_positives():
    split = _tiny_split()
    positives = set(map(tuple, split.train_index.t().tolist()))
    for name in ('uniform', 'popularity', 'dns', 'softmax', 'cache'):
        strategy = build_strategy(
            name,
            split.train_index,
            split.num_users,
            split.num_items,
            num_neg=3,
            candidates=5,
        )
        strategy.reseed(0)
        users, pos = split.train_index
        ctx = Context(torch.randn(30, 4), torch.randn(40, 4), None)
        neg = strategy.negatives(users, pos, ctx)
        assert neg.ids.shape == (users.numel(), 3)
        for u, row in zip(users.tolist(), neg.ids.tolist()):
            assert all((u, v) not in positives for v in row), name


def test_dns_picks_the_highest_scored_candidate():
    split = _tiny_split()
    strategy = build_strategy(
        'dns',
        split.train_index,
        split.num_users,
        split.num_items,
        num_neg=1,
        candidates=40,
    )
    strategy.reseed(0)
    item_emb = torch.arange(40, dtype=torch.float).view(-1, 1)
    ctx = Context(torch.ones(30, 1), item_emb, None)
    users, pos = split.train_index
    neg = strategy.negatives(users, pos, ctx)
    # Every user's hardest allowed item is the largest id it has not
    # interacted with (40 candidates nearly cover all 40 items).
    positives = set(map(tuple, split.train_index.t().tolist()))
    best = [
        max(v for v in range(40) if (u, v) not in positives)
        for u in users.tolist()
    ]
    hits = (neg.ids.view(-1) == torch.tensor(best)).float().mean()
    assert hits > 0.5


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(dataset='nope'), "'dataset' must be one of"),
        (dict(dataset='yelp2018'), "'data_root' is needed"),
        (dict(encoder='gcn'), "'encoder' must be one of"),
        (dict(sampler='nope'), "'sampler' must be one of"),
        (dict(loss='mse'), "'loss' must be one of"),
        (dict(num_neg=0), "'num_neg' must be a positive integer"),
        (dict(batch_size=-1), "'batch_size' must be a positive integer"),
        (dict(lr=0.0), "'lr' must be positive"),
        (dict(temperature=-1.0), "'temperature' must be positive"),
        (dict(sampler='dns', candidates=0), "'candidates' must be a positive"),
        (dict(sampler='dns', candidates=2, num_neg=3), "'candidates' \\(2\\)"),
        (dict(candidates=-1), "'candidates' must be non-negative"),
        (dict(num_layers=-1), "'num_layers' must be a non-negative"),
        (dict(subset_users=0), "'subset_users' must be a positive"),
        (dict(reg=-1.0), "'reg' must be non-negative"),
        (dict(alpha=-1.0), "'alpha' must be non-negative"),
        (dict(val_fraction=1.0), "'val_fraction' must be in"),
        (dict(select_on='train'), "'select_on' must be 'val' or 'test'"),
        (dict(val_fraction=0.0), "'select_on=val' needs a validation split"),
        (dict(max_minutes=0), "'max_minutes' must be positive"),
        (dict(device='gpu0'), "'device' is not a device"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs).validate()


def test_cuda_device_without_cuda_is_refused():
    if torch.cuda.is_available():
        pytest.skip('CUDA is available here')
    with pytest.raises(ValueError, match='CUDA is not available'):
        TrainConfig(device='cuda').validate()


def test_max_minutes_stops_early(tmp_path):
    split = _tiny_split()
    lines = []
    config = _config(tmp_path, epochs=50, eval_every=10, max_minutes=1e-6)
    result = Trainer(config, log=lines.append, split=split).fit()
    assert result.history[-1]['epoch'] == 1
    assert any('budget' in line for line in lines)


def test_without_matplotlib_the_curve_is_skipped_with_a_warning(
    tmp_path, monkeypatch
):
    import sys

    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    config = _config(tmp_path, epochs=1, plot=True)
    with pytest.warns(UserWarning, match='matplotlib is not installed'):
        Trainer(config, log=lambda s: None, split=_tiny_split()).fit()
    assert not (tmp_path / 'run' / 'curve.png').exists()
    assert (tmp_path / 'run' / 'metrics.csv').exists()


def test_a_user_linked_to_every_item_is_refused_before_training(tmp_path):
    split = _tiny_split()
    every = torch.stack([torch.zeros(40, dtype=torch.long), torch.arange(40)])
    split = InteractionSplit(
        torch.cat([split.train_index, every], 1), split.test_index, 30, 40
    )
    config = _config(tmp_path, val_fraction=0.0, select_on='test')
    with pytest.raises(ValueError, match='source node 0 has no valid'):
        Trainer(config, log=lambda s: None, split=split)
