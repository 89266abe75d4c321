import dataclasses

import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.losses import (
    bce_loss,
    bpr_loss,
    hinge_loss,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.nn import NGCF, LightGCN, PinSage
from torch_geometric_negsamp.train import (
    DATASETS,
    ENCODERS,
    LOSSES,
    TrainConfig,
    build_encoder,
    build_loss,
    build_strategy_from_config,
    factories,
    load_split,
    strategy_names,
)
from torch_geometric_negsamp.train.factories import prepare_split
from torch_geometric_negsamp.train.strategies import resolve_strategy_name

TRAIN = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 2, 0, 3]])
TEST = torch.tensor([[0, 1, 2], [2, 0, 1]])


def test_registries_hold_every_name():
    assert DATASETS.names() == ['amazonbook', 'folder', 'gowalla', 'yelp2018']
    assert ENCODERS.names() == ['lightgcn', 'ngcf', 'pinsage']
    assert LOSSES.names() == [
        'bce',
        'bpr',
        'hinge',
        'sigmoidhinge',
        'softmax',
    ]


@pytest.mark.parametrize(
    'name,cls', [('lightgcn', LightGCN), ('NGCF', NGCF), ('pin-sage', PinSage)]
)
def test_build_encoder(name, cls):
    split = InteractionSplit(TRAIN, TEST, 3, 4)
    config = TrainConfig(encoder=name, embedding_dim=5, num_layers=0)
    model = build_encoder(config, split, TRAIN, torch.device('cpu'))
    assert type(model) is cls
    assert model.embedding.weight.shape == (7, 5)


def test_build_loss_applies_the_configured_settings():
    pos, neg = torch.tensor([0.5, -1.0]), torch.tensor([[0.2], [0.3]])
    config = TrainConfig(margin=0.25, temperature=0.5)
    assert torch.equal(build_loss('bpr', config)(pos, neg), bpr_loss(pos, neg))
    assert torch.equal(build_loss('bce', config)(pos, neg), bce_loss(pos, neg))
    assert torch.equal(
        build_loss('hinge', config)(pos, neg), hinge_loss(pos, neg, 0.25)
    )
    assert torch.equal(
        build_loss('softmax', config)(pos, neg),
        sampled_softmax_loss(pos, neg, 0.5),
    )
    # Negative control: another margin gives another value.
    assert not torch.equal(
        build_loss('hinge', config)(pos, neg), hinge_loss(pos, neg, 1.0)
    )
    with pytest.raises(ValueError, match="'loss' names no known loss"):
        build_loss('mse', config)


def test_loss_temperature_sets_the_softmax_loss_alone():
    pos, neg = torch.tensor([0.5, -1.0]), torch.tensor([[0.2], [0.3]])
    config = TrainConfig(temperature=0.5, loss_temperature=2.0)
    assert config.softmax_loss_temperature == 2.0
    assert torch.equal(
        build_loss('softmax', config)(pos, neg),
        sampled_softmax_loss(pos, neg, 2.0),
    )
    assert not torch.equal(
        build_loss('softmax', config)(pos, neg),
        sampled_softmax_loss(pos, neg, 0.5),
    )
    # The softmax sampler keeps --temperature:
    strategy = build_strategy_from_config(
        dataclasses.replace(config, sampler='softmax'), TRAIN, 3, 4
    )
    assert strategy.temperature == 0.5


def test_strategy_names_are_normalised_once():
    assert resolve_strategy_name('In_Batch') == 'inbatch'
    assert resolve_strategy_name('uniform') == 'uniform'
    with pytest.raises(ValueError, match="'sampler' names no known sampler"):
        resolve_strategy_name('bernoulli')
    assert 'bernoulli' not in strategy_names()


def test_each_size_reaches_the_strategy_factory_under_its_own_name(
    monkeypatch,
):
    calls = []

    def build_strategy(
        name,
        train_index,
        num_users,
        num_items,
        *,
        num_neg,
        candidates,
        cache_size,
        queue_size,
        mixed_negatives,
        temperature,
        alpha,
        combine,
        warmup_epochs,
        embedding_dim,
    ):
        calls.append(
            dict(
                name=name,
                same_index=train_index is TRAIN,
                num_users=num_users,
                num_items=num_items,
                num_neg=num_neg,
                candidates=candidates,
                cache_size=cache_size,
                queue_size=queue_size,
                mixed_negatives=mixed_negatives,
                temperature=temperature,
                alpha=alpha,
                combine=combine,
            )
        )
        return 'built'

    monkeypatch.setattr(factories, 'build_strategy', build_strategy)
    config = TrainConfig(
        sampler='Cache',
        num_neg=2,
        candidates=3,
        cache_size=5,
        queue_size=7,
        mixed_negatives=11,
        temperature=0.5,
        alpha=0.25,
    )
    combine = object()
    out = build_strategy_from_config(config, TRAIN, 3, 4, combine=combine)
    assert out == 'built'
    assert calls == [
        dict(
            name='cache',
            same_index=True,
            num_users=3,
            num_items=4,
            num_neg=2,
            candidates=3,
            cache_size=5,
            queue_size=7,
            mixed_negatives=11,
            temperature=0.5,
            alpha=0.25,
            combine=combine,
        )
    ]


def _write_folder(root, train_lines, test_lines):
    root.mkdir(exist_ok=True)
    (root / 'train.txt').write_text('\n'.join(train_lines) + '\n')
    (root / 'test.txt').write_text('\n'.join(test_lines) + '\n')
    return str(root)


def test_load_split_reads_a_folder_and_slices_users(tmp_path):
    root = _write_folder(tmp_path, ['0 0 1', '1 2', '2 0 3'], ['0 2', '1 0'])
    split = load_split(TrainConfig(dataset='folder', data_root=root))
    assert (split.num_users, split.num_items) == (3, 4)
    assert split.train_index.tolist() == TRAIN.tolist()
    assert split.test_index.tolist() == [[0, 1], [2, 0]]
    config = TrainConfig(dataset='folder', data_root=root, subset_users=2)
    assert load_split(config).num_users == 2
    # more users than the data holds: all of them
    config = TrainConfig(dataset='folder', data_root=root, subset_users=9)
    assert load_split(config).num_users == 3


def test_each_strategy_reads_its_own_size():
    def build(sampler):
        config = TrainConfig(
            sampler=sampler,
            candidates=3,
            cache_size=5,
            queue_size=7,
            mixed_negatives=11,
        )
        return build_strategy_from_config(config, TRAIN, 3, 4)

    assert build('dns').candidates == 3
    assert build('cache').cache.cache_size == 5
    assert build('queue').queue.size == 7
    assert build('inbatch').mixed_negatives == 11


def test_registered_names_resolve_as_the_registries_compare_them():
    assert resolve_strategy_name('UniformSampler') == 'uniform'
    assert resolve_strategy_name('Mix-GCF') == 'mixgcf'
    with pytest.raises(ValueError, match="'name' names no known strategy"):
        resolve_strategy_name('nope', 'name', 'strategy')


def test_prepare_split_holds_out_validation_and_refuses_empty_parts():
    # user 0: three training items; user 1: one (it gives none away)
    train = torch.tensor([[0, 0, 0, 1], [0, 1, 2, 3]])
    split = InteractionSplit(train, torch.tensor([[0], [3]]), 2, 4)
    out = prepare_split(TrainConfig(val_fraction=0.5), split)
    assert out.num_val == 2 and out.num_train == 2
    no_test = InteractionSplit(
        train, torch.empty(2, 0, dtype=torch.long), 2, 4
    )
    config = TrainConfig(select_on='test', val_fraction=0.0, subset_users=2)
    with pytest.raises(ValueError, match=r"test split .*'subset_users=2' \("):
        prepare_split(config, no_test)
    one_each = InteractionSplit(
        torch.tensor([[0, 1], [0, 1]]), torch.tensor([[0], [1]]), 2, 2
    )
    with pytest.raises(ValueError, match='validation split holds no inter'):
        prepare_split(TrainConfig(val_fraction=0.5), one_each)
    # selected on the test split, an empty validation part is no error
    config = TrainConfig(val_fraction=0.5, select_on='test')
    assert prepare_split(config, one_each).num_val == 0
