r"""What a :class:`~torch_geometric_negsamp.train.TrainConfig` names, built:
the dataset (:func:`load_split`, :func:`prepare_split`), the encoder
(:func:`build_encoder`), the pairwise loss (:func:`build_loss`) and the
negative strategy (:func:`build_strategy_from_config`).

Datasets, encoders and losses are looked up in one
:class:`~torch_geometric_negsamp._registry.Registry` each (names compared
after :func:`~torch_geometric_negsamp._registry.normalize_name`), so a new
one is a :meth:`register` call away; strategies are resolved by
:mod:`torch_geometric_negsamp.train.strategies`.
"""

import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._registry import Registry
from torch_geometric_negsamp.datasets import (
    AmazonBook,
    InteractionSplit,
    Yelp2018,
    load_gowalla,
)
from torch_geometric_negsamp.losses import (
    bce_loss,
    bpr_loss,
    hinge_loss,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.nn import (
    NGCF,
    LightGCN,
    PinSage,
    RecommenderEncoder,
)
from torch_geometric_negsamp.train.region_strategies import (
    SIGMOID_HINGE_MARGIN,
    base_sampler,
    config_options,
)
from torch_geometric_negsamp.train.strategies import (
    STRATEGY_OPTIONS,
    Strategy,
    build_strategy,
)

if TYPE_CHECKING:  # pragma: no cover
    from torch_geometric_negsamp.train.config import TrainConfig

#: Pairwise losses: ``(pos_scores [B], neg_scores [B, k], config) -> loss``.
LOSSES: Registry[Callable] = Registry('loss')
#: Encoders: ``(config, num_users, num_items, train_index, device) ->``
#: a :class:`~torch_geometric_negsamp.nn.RecommenderEncoder`.
ENCODERS: Registry[Callable] = Registry('encoder')
#: Datasets: ``(config) ->`` an :class:`InteractionSplit`.
DATASETS: Registry[Callable] = Registry('dataset')


# ------------------------------------------------------------------ data
@DATASETS.register('gowalla')
def _gowalla(config: 'TrainConfig') -> InteractionSplit:
    return load_gowalla(config.data_root)


def _lightgcn_dataset(
    cls: type,
) -> Callable[['TrainConfig'], InteractionSplit]:
    def load(config: 'TrainConfig') -> InteractionSplit:
        return cls(config.data_root).split

    return load


DATASETS.register('yelp2018', _lightgcn_dataset(Yelp2018))
DATASETS.register('amazon-book', _lightgcn_dataset(AmazonBook))


@DATASETS.register('folder')
def _folder(config: 'TrainConfig') -> InteractionSplit:
    root = config.data_root
    return InteractionSplit.from_lightgcn_files(
        os.path.join(root, 'train.txt'), os.path.join(root, 'test.txt')
    )


def load_split(config: 'TrainConfig') -> InteractionSplit:
    r"""Loads the configured dataset as an :class:`InteractionSplit` (a
    seeded slice of :obj:`subset_users` users when given)."""
    split = DATASETS.get(config.dataset, 'dataset')(config)
    if config.subset_users is not None:
        split = split.subset(
            min(config.subset_users, split.num_users), seed=config.seed
        )
    return split


def prepare_split(
    config: 'TrainConfig', split: InteractionSplit
) -> InteractionSplit:
    r"""Holds out the validation part of :obj:`split` (a seeded
    :obj:`val_fraction` of every user's training items), and refuses,
    before anything is trained, a split whose test part (or validation
    part, when the checkpoint is selected on it) is empty, naming the
    setting that emptied it."""
    if config.val_fraction > 0:
        split = split.with_validation(config.val_fraction, seed=config.seed)
    cause = (
        '; choose more users'
        if config.subset_users is None
        else f" after 'subset_users={config.subset_users}' (--subset-users) "
        f'kept {split.num_users} users; choose more'
    )
    if split.num_test == 0:
        raise ValueError(f'the test split holds no interaction{cause}')
    if config.select_on == 'val' and split.num_val == 0:
        raise ValueError(
            f'the validation split holds no interaction (only users with '
            f"two training items give one to 'val_fraction'){cause}, or "
            f'select on the test split (--select-on-test)'
        )
    return split


# -------------------------------------------------------------- encoders
def _encoder(
    cls: type,
    config: 'TrainConfig',
    num_users: int,
    num_items: int,
    train_index: Tensor,
    num_layers: Optional[int] = None,
    **options: Any,
) -> RecommenderEncoder:
    r"""An encoder :obj:`cls` with the configured sizes over the training
    interactions."""
    if num_layers is None:
        num_layers = config.num_layers
    return cls(
        num_users,
        num_items,
        config.embedding_dim,
        num_layers,
        train_index=train_index,
        **options,
    )


@ENCODERS.register('lightgcn')
def _lightgcn(config, num_users, num_items, train_index, device):
    return _encoder(LightGCN, config, num_users, num_items, train_index)


@ENCODERS.register('ngcf')
def _ngcf(config, num_users, num_items, train_index, device):
    # Its dropout generator is reseeded at every epoch by the trainer.
    generator = torch.Generator(device=device)
    return _encoder(
        NGCF, config, num_users, num_items, train_index, generator=generator
    )


@ENCODERS.register('pinsage')
def _pinsage(config, num_users, num_items, train_index, device):
    # At least one layer; the random walks are drawn once, from the seed.
    generator = torch.Generator().manual_seed(config.seed)
    num_layers = max(config.num_layers, 1)
    return _encoder(
        PinSage,
        config,
        num_users,
        num_items,
        train_index,
        num_layers,
        generator=generator,
    )


def build_encoder(
    config: 'TrainConfig',
    split: InteractionSplit,
    train_index: Tensor,
    device: torch.device,
) -> torch.nn.Module:
    r"""The encoder :obj:`config.encoder` over the training interactions
    :obj:`train_index` of :obj:`split` (parameters drawn from the global
    generator, as :class:`torch.nn.Module` initialisation does)."""
    factory = ENCODERS.get(config.encoder, 'encoder')
    return factory(
        config, split.num_users, split.num_items, train_index, device
    )


# ---------------------------------------------------------------- losses
# The trainer checks each epoch's loss itself (a diverging run stops with a
# clear error), so the losses skip their per-call finiteness check and its
# host synchronisation.
@LOSSES.register('bpr')
def _bpr(pos: Tensor, neg: Tensor, config: 'TrainConfig') -> Tensor:
    return bpr_loss(pos, neg, validate=False)


@LOSSES.register('bce')
def _bce(pos: Tensor, neg: Tensor, config: 'TrainConfig') -> Tensor:
    return bce_loss(pos, neg, validate=False)


@LOSSES.register('hinge')
def _hinge(pos: Tensor, neg: Tensor, config: 'TrainConfig') -> Tensor:
    return hinge_loss(pos, neg, config.margin, validate=False)


@LOSSES.register('softmax')
def _softmax(pos: Tensor, neg: Tensor, config: 'TrainConfig') -> Tensor:
    return sampled_softmax_loss(
        pos, neg, config.softmax_loss_temperature, validate=False
    )


def build_loss(
    name: str, config: 'TrainConfig'
) -> Callable[[Tensor, Tensor], Tensor]:
    r"""The pairwise loss :obj:`name` as ``(pos_scores [B], neg_scores
    [B, k]) -> loss``, with its settings (:obj:`margin`,
    :obj:`softmax_loss_temperature`) taken from :obj:`config`."""
    loss = LOSSES.get(name, 'loss')

    def fn(pos: Tensor, neg: Tensor) -> Tensor:
        return loss(pos, neg, config)

    return fn


# ------------------------------------------------------------ strategies
def build_strategy_from_config(
    config: 'TrainConfig',
    train_index: Tensor,
    num_users: int,
    num_items: int,
    combine: Optional[Callable[[Tensor], Tensor]] = None,
) -> Strategy:
    r"""The negative strategy :obj:`config.sampler`, with the settings of
    :obj:`STRATEGY_OPTIONS` taken from :obj:`config` (each size field
    under its own name)."""
    options = {name: getattr(config, name) for name in STRATEGY_OPTIONS}
    options.update(strategy_extras(config))
    return build_strategy(
        config.strategy_key,
        train_index,
        num_users,
        num_items,
        combine=combine,
        **options,
    )


# ------------------------------------------------ region samplers (issue 9)
@LOSSES.register('sigmoid-hinge')
def _sigmoid_hinge(pos: Tensor, neg: Tensor, config: 'TrainConfig') -> Tensor:
    # RecNS's "augmented hinge": the margin applies to sigmoid scores.
    return hinge_loss(
        pos.sigmoid(), neg.sigmoid(), SIGMOID_HINGE_MARGIN, validate=False
    )


#: The one place where the configuration reaches a static sampler: for
#: each sampler, ``{config field: keyword argument of its constructor}``.
#: A strategy drawing its candidates from that sampler gets them too.
SAMPLER_OPTIONS: Dict[str, Dict[str, str]] = {
    'region': {
        'khop': 'k',
        'adjacent_hops': 'adjacent_hops',
        'distant_share': 'distant_share',
        'region_budget': 'memory_budget',
    },
}


def strategy_extras(config: 'TrainConfig') -> Dict[str, Any]:
    r"""The keyword arguments of strategy :obj:`config.sampler` beyond
    :obj:`STRATEGY_OPTIONS`: its base sampler's options from
    :obj:`SAMPLER_OPTIONS` (as :obj:`sampler_options`), and the
    configuration fields the strategy class names in its
    :obj:`config_options`."""
    key = config.strategy_key
    fields = SAMPLER_OPTIONS.get(base_sampler(key), {})
    extras: Dict[str, Any] = {
        name: getattr(config, name) for name in config_options(key)
    }
    if fields:
        extras['sampler_options'] = {
            keyword: getattr(config, name) for name, keyword in fields.items()
        }
    return extras
