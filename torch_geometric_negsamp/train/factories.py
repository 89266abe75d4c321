r"""What a :class:`~torch_geometric_negsamp.train.TrainConfig` names, built:
the dataset (:func:`load_split`), the encoder (:func:`build_encoder`), the
pairwise loss (:func:`build_loss`) and the negative strategy
(:func:`build_strategy_from_config`).

Datasets, encoders and losses are looked up in one
:class:`~torch_geometric_negsamp._registry.Registry` each (names compared
after :func:`~torch_geometric_negsamp._registry.normalize_name`), so a new
one is a :meth:`register` call away; strategies are resolved by
:mod:`torch_geometric_negsamp.train.strategies`.
"""

import os
from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._registry import Registry, normalize_name
from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.losses import (
    bce_loss,
    bpr_loss,
    hinge_loss,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.train.strategies import (
    Strategy,
    build_strategy,
    strategy_names,
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
    from torch_geometric_negsamp.datasets import load_gowalla

    return load_gowalla(config.data_root)


@DATASETS.register('yelp2018')
def _yelp2018(config: 'TrainConfig') -> InteractionSplit:
    from torch_geometric_negsamp.datasets import Yelp2018

    return Yelp2018(config.data_root).split


@DATASETS.register('amazon-book')
def _amazon_book(config: 'TrainConfig') -> InteractionSplit:
    from torch_geometric_negsamp.datasets import AmazonBook

    return AmazonBook(config.data_root).split


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


# -------------------------------------------------------------- encoders
@ENCODERS.register('lightgcn')
def _lightgcn(config, num_users, num_items, train_index, device):
    from torch_geometric_negsamp.nn import LightGCN

    return LightGCN(
        num_users,
        num_items,
        config.embedding_dim,
        config.num_layers,
        train_index=train_index,
    )


@ENCODERS.register('ngcf')
def _ngcf(config, num_users, num_items, train_index, device):
    from torch_geometric_negsamp.nn import NGCF

    # Its dropout generator is reseeded at every epoch by the trainer.
    return NGCF(
        num_users,
        num_items,
        config.embedding_dim,
        config.num_layers,
        train_index=train_index,
        generator=torch.Generator(device=device),
    )


@ENCODERS.register('pinsage')
def _pinsage(config, num_users, num_items, train_index, device):
    from torch_geometric_negsamp.nn import PinSage

    return PinSage(
        num_users,
        num_items,
        config.embedding_dim,
        max(config.num_layers, 1),
        train_index=train_index,
        generator=torch.Generator().manual_seed(config.seed),
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
    return sampled_softmax_loss(pos, neg, config.temperature, validate=False)


def build_loss(
    name: str, config: 'TrainConfig'
) -> Callable[[Tensor, Tensor], Tensor]:
    r"""The pairwise loss :obj:`name` as ``(pos_scores [B], neg_scores
    [B, k]) -> loss``, with its settings (:obj:`margin`,
    :obj:`temperature`) taken from :obj:`config`."""
    loss = LOSSES.get(name, 'loss')

    def fn(pos: Tensor, neg: Tensor) -> Tensor:
        return loss(pos, neg, config)

    return fn


# ------------------------------------------------------------ strategies
def resolve_strategy_name(name: str) -> str:
    r"""The normalised strategy name :obj:`name` stands for; a
    :class:`ValueError` naming :obj:`'sampler'` and listing the known names
    otherwise."""
    if not isinstance(name, str):
        raise TypeError(
            f"'sampler' must be a sampler name (got {type(name).__name__})"
        )
    names, key = strategy_names(), normalize_name(name)
    if key not in names:
        raise ValueError(
            f"'sampler' names no known sampler (got {name!r}; known: "
            f'{", ".join(names)})'
        )
    return key


def build_strategy_from_config(
    config: 'TrainConfig',
    train_index: Tensor,
    num_users: int,
    num_items: int,
    combine: Optional[Callable[[Tensor], Tensor]] = None,
) -> Strategy:
    r"""The negative strategy :obj:`config.sampler`, each size field passed
    under its own name (:obj:`candidates`, :obj:`cache_size`,
    :obj:`queue_size`, :obj:`mixed_negatives`)."""
    return build_strategy(
        resolve_strategy_name(config.sampler),
        train_index,
        num_users,
        num_items,
        num_neg=config.num_neg,
        candidates=config.candidates,
        cache_size=config.cache_size,
        queue_size=config.queue_size,
        mixed_negatives=config.mixed_negatives,
        temperature=config.temperature,
        alpha=config.alpha,
        combine=combine,
    )
