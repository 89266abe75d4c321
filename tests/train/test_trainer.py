import json
import os

import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit, load_gowalla
from torch_geometric_negsamp.losses import bpr_loss, l2_regularization
from torch_geometric_negsamp.nn import LightGCN
from torch_geometric_negsamp.sampler import UniformSampler
from torch_geometric_negsamp.train import (
    CheckpointError,
    TrainConfig,
    Trainer,
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
        cache_size=4,
        queue_size=4,
        mixed_negatives=4,
    )
    base.update(kwargs)
    return TrainConfig(**base)


@pytest.mark.slow
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


@pytest.mark.parametrize(
    'encoder,sampler',
    [('lightgcn', 'uniform'), ('ngcf', 'cache'), ('lightgcn', 'queue')],
)
def test_resume_equals_uninterrupted_run(tmp_path, encoder, sampler):
    split = _tiny_split()
    kwargs = dict(encoder=encoder, sampler=sampler)
    a = Trainer(
        _config(tmp_path / 'a', epochs=3, **kwargs),
        log=lambda s: None,
        split=split,
    )
    a.fit()
    b = Trainer(
        _config(tmp_path / 'b', epochs=2, **kwargs),
        log=lambda s: None,
        split=split,
    )
    b.fit()
    lines = []
    c = Trainer(
        _config(tmp_path / 'b', epochs=3, resume=True, **kwargs),
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
        timings = ('train_seconds', 'neg_sampling_share')
        return [
            {k: v for k, v in row.items() if k not in timings}
            for row in history
        ]

    assert strip(a.result.history) == strip(c.result.history)
    # Negative control: a different seed gives a different model.
    d = Trainer(
        _config(tmp_path / 'd', epochs=3, seed=1, **kwargs),
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


def test_trainer_equals_a_plain_reference_loop(tmp_path):
    # The default path (LightGCN, uniform negatives, BPR + L2) written out
    # by hand: the trainer must draw the same numbers in the same order.
    split = _tiny_split()
    config = _config(tmp_path, epochs=2, eval_every=2, reg=1e-3)
    trainer = Trainer(config, log=lambda s: None, split=split)
    trainer.fit()

    seed, B = 0, config.batch_size
    torch.manual_seed(seed)
    data = split.with_validation(config.val_fraction, seed=seed)
    train = data.train_index
    model = LightGCN(30, 40, 8, 2, train_index=train)
    sampler = UniformSampler().fit(train, (30, 40))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    for epoch in range(2):
        epoch_seed = (seed * 1_000_003 + epoch * 7919 + 1) % 2**62
        torch.manual_seed(epoch_seed)
        sampler.reseed(epoch_seed + 11)
        order = torch.Generator().manual_seed(epoch_seed + 23)
        perm = torch.randperm(train.size(1), generator=order)
        for start in range(0, train.size(1), B):
            users, pos = train[:, perm[start : start + B]]
            user_emb, item_emb = model()
            neg = sampler.sample_negatives(users, num_neg=1)
            # Gathered in this order, each once: autograd sums the
            # gradients in graph order, so another order changes the bits.
            neg_emb, user = item_emb[neg], user_emb[users]
            loss = bpr_loss(
                model.score(user, item_emb[pos]), model.score(user, neg_emb)
            )
            user_ego, pos_ego = model.reg_embeddings(users, pos)
            neg_ego = model.reg_embeddings(users, neg)[1]
            loss = loss + config.reg * l2_regularization(
                user_ego, pos_ego, neg_ego, batch_size=users.numel()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert trainer.split.train_index.equal(train)
    for name, value in model.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[name]), name


def test_resume_refuses_changed_data_of_the_same_shape(tmp_path):
    split = _tiny_split()
    Trainer(_config(tmp_path, epochs=1), log=lambda s: None, split=split).fit()
    test = split.test_index.clone()
    test[1] = (test[1] + 1) % split.num_items  # same shape, other items
    changed = InteractionSplit(
        split.train_index, test, split.num_users, split.num_items
    )
    trainer = Trainer(
        _config(tmp_path, epochs=2, resume=True),
        log=lambda s: None,
        split=changed,
    )
    with pytest.raises(CheckpointError, match='trained on other data'):
        trainer.fit()
    assert trainer.epoch == 0


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    trainer = Trainer(
        _config(tmp_path, resume=True), log=lambda s: None, split=_tiny_split()
    )
    with pytest.raises(ValueError, match='nothing to resume: .*checkpoint.pt'):
        trainer.fit()
    assert trainer.epoch == 0


def test_a_damaged_checkpoint_is_refused_before_training(tmp_path):
    split = _tiny_split()
    Trainer(_config(tmp_path, epochs=1), log=lambda s: None, split=split).fit()
    path = tmp_path / 'run' / 'checkpoint.pt'
    data = bytearray(path.read_bytes())
    data[-200:-136] = bytes(255 - b for b in data[-200:-136])  # 64 bytes
    path.write_bytes(bytes(data))
    trainer = Trainer(
        _config(tmp_path, epochs=2, resume=True),
        log=lambda s: None,
        split=split,
    )
    before = trainer.model.embedding.weight.detach().clone()
    with pytest.raises(CheckpointError, match='corrupted') as exc:
        trainer.fit()
    assert str(path) in str(exc.value) and '\n' not in str(exc.value)
    assert torch.equal(before, trainer.model.embedding.weight)


def test_a_diverging_run_stops_and_writes_nothing_non_finite(tmp_path):
    config = _config(tmp_path, epochs=3, lr=1e30)
    trainer = Trainer(config, log=lambda s: None, split=_tiny_split())
    with pytest.raises(FloatingPointError, match='loss became .* epoch 1'):
        trainer.fit()
    # No checkpoint and no weights; the report says nothing was evaluated.
    assert sorted(os.listdir(tmp_path / 'run')) == ['metrics.json']
    report = json.loads((tmp_path / 'run' / 'metrics.json').read_text())
    assert report['history'] == [] and report['best'] is None


def test_a_run_diverging_later_keeps_its_finite_past(tmp_path, monkeypatch):
    split = _tiny_split()
    trainer = Trainer(
        _config(tmp_path, epochs=3), log=lambda s: None, split=split
    )
    train_epoch = trainer.train_epoch

    def diverge_in_epoch_3(epoch):
        loss = train_epoch(epoch)
        if epoch == 2:
            with torch.no_grad():
                trainer.model.embedding.weight[0, 0] = float('nan')
            raise FloatingPointError('the training loss became nan')
        return loss

    monkeypatch.setattr(trainer, 'train_epoch', diverge_in_epoch_3)
    with pytest.raises(FloatingPointError):
        trainer.fit()
    out = tmp_path / 'run'
    best = torch.load(out / 'best.pt', weights_only=True)
    assert all(bool(torch.isfinite(v).all()) for v in best.values())
    report = json.loads((out / 'metrics.json').read_text())
    assert [row['epoch'] for row in report['history']] == [1, 2]
    resumed = Trainer(
        _config(tmp_path, epochs=3, resume=True),
        log=lambda s: None,
        split=split,
    )
    assert resumed.load_checkpoint() and resumed.epoch == 2


def test_best_weights_are_written_whole_and_load_with_torch(tmp_path):
    config = _config(tmp_path, epochs=2, eval_every=1)
    trainer = Trainer(config, log=lambda s: None, split=_tiny_split())
    trainer.fit()
    best = torch.load(tmp_path / 'run' / 'best.pt', weights_only=True)
    assert best.keys() == trainer.best_state.keys()
    for name, value in best.items():
        assert torch.equal(value, trainer.best_state[name]), name
    assert not [f for f in os.listdir(tmp_path / 'run') if 'tmp' in f]


def test_an_unwritable_output_folder_fails_before_training(tmp_path):
    (tmp_path / 'file').write_text('not a folder')
    config = _config(tmp_path, out_dir=str(tmp_path / 'file' / 'run'))
    trainer = Trainer(config, log=lambda s: None, split=_tiny_split())
    before = trainer.model.embedding.weight.detach().clone()
    with pytest.raises(ValueError, match="'out_dir' must be a folder"):
        trainer.fit()
    assert trainer.epoch == 0
    assert torch.equal(before, trainer.model.embedding.weight)


def test_a_request_that_cannot_fit_is_refused_before_allocating(tmp_path):
    config = _config(tmp_path, num_neg=10**9, embedding_dim=64)
    with pytest.raises(ValueError, match="'num_neg' asks for .* GiB"):
        Trainer(config, log=lambda s: None, split=_tiny_split())


def test_an_embedding_table_that_cannot_fit_is_refused(tmp_path):
    config = _config(tmp_path, embedding_dim=10**12, num_layers=0)
    with pytest.raises(ValueError, match="'embedding_dim' asks for the emb"):
        Trainer(config, log=lambda s: None, split=_tiny_split())


def test_an_empty_test_split_after_subset_names_the_setting(tmp_path):
    # the first user has no test item: a slice of it alone tests nothing
    train = torch.tensor([[0, 0, 1, 1], [0, 1, 2, 3]])
    split = InteractionSplit(train, torch.tensor([[1], [0]]), 2, 4)
    config = _config(tmp_path, subset_users=1, select_on='test')
    with pytest.raises(ValueError, match=r"'subset_users=1' \(--subset-us"):
        Trainer(config, log=lambda s: None, split=split.subset(1))
    assert not (tmp_path / 'run').exists()


def test_a_forced_loss_is_noted_only_when_it_differs(tmp_path):
    lines = []
    config = _config(tmp_path, sampler='inbatch', loss='Soft-Max')
    trainer = Trainer(config, log=lines.append, split=_tiny_split())
    assert trainer.loss_name == 'softmax' and not lines
    config = _config(tmp_path, sampler='inbatch', loss='BPR')
    Trainer(config, log=lines.append, split=_tiny_split())
    assert lines == ["note: sampler 'inbatch' trains with the 'softmax' loss"]


def test_in_batch_loss_takes_the_loss_temperature(tmp_path):
    # In-batch negatives go through the trainer's own sampled-softmax call;
    # its temperature is --loss-temperature where given, else --temperature.
    def first_loss(**kwargs):
        config = _config(tmp_path, sampler='inbatch', **kwargs)
        trainer = Trainer(config, log=lambda s: None, split=_tiny_split())
        trainer._reseed(0)
        users, pos = trainer.train_index[:, :16]
        return trainer._loss(users, pos).item()

    separate = first_loss(temperature=1.0, loss_temperature=0.25)
    assert separate == pytest.approx(first_loss(temperature=0.25))
    assert separate != pytest.approx(first_loss(temperature=1.0))


def test_in_batch_trains_and_saves_with_items_nobody_interacted_with(tmp_path):
    # item 40 has no interaction: its log frequency is -inf, which is data
    # (not a diverged state) and is not saved.
    split = _tiny_split()
    split = InteractionSplit(split.train_index, split.test_index, 30, 41)
    config = _config(tmp_path, sampler='inbatch', epochs=1)
    Trainer(config, log=lambda s: None, split=split).fit()
    assert (tmp_path / 'run' / 'checkpoint.pt').exists()
