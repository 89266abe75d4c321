r"""What a training run watches besides its metrics: :class:`RunMonitor`
(the negative diagnostics of every epoch, early stopping and the optional
TensorBoard log) behind :class:`~torch_geometric_negsamp.train.Trainer`."""

from typing import Dict, List, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train.diagnostics import NegativeDiagnostics
from torch_geometric_negsamp.train.early_stopping import EarlyStopping
from torch_geometric_negsamp.train.strategy_base import Negatives, Strategy

#: The seed offset of the diagnostics' sample stream within an epoch (the
#: trainer's other streams use 0, 11, 17 and 23).
DIAGNOSTICS_SEED = 29


class RunMonitor:
    r"""The negative diagnostics, early stopping and TensorBoard log of one
    training run.

    The false negatives are counted against the validation split, or the
    test split when there is none (:obj:`neg_false_negative_split` says
    which). Early stopping watches the selection metric
    (:obj:`"<select_on>_recall@<k>"`).

    Args:
        config (TrainConfig): The run's configuration (:obj:`patience`,
            :obj:`tensorboard`, :obj:`select_on`, :obj:`k`).
        split (InteractionSplit): The run's data, on the training device.
        strategy (Strategy): The run's negative strategy (its sampler's
            :attr:`num_dropped` counts the dropped positives).
        sample_size (int, optional): The (user, negative) pairs ranked for
            :obj:`neg_hardness` per epoch. (default: :obj:`4096`)
    """

    def __init__(
        self,
        config,
        split: InteractionSplit,
        strategy: Strategy,
        sample_size: int = 4096,
    ):
        held, name = split.val_index, 'val'
        if held is None:
            held, name = split.test_index, 'test'
        sampler = strategy.sampler
        self.diagnostics = NegativeDiagnostics(
            split.train_index,
            held,
            split.num_users,
            split.num_items,
            holdout=name,
            sample_size=sample_size,
            dropped=lambda: int(getattr(sampler, 'num_dropped', 0)),
        )
        key = f'{config.select_on}_recall@{config.k}'
        # patience 0 (or None): never stop early.
        self.early_stopping = EarlyStopping(config.patience or None, key)
        self.tensorboard = None
        if config.tensorboard is not None:
            from torch_geometric_negsamp.train.tensorboard import (
                TensorBoardLogger,
            )

            self.tensorboard = TensorBoardLogger(config.tensorboard)
        self.eval_batch_size = config.eval_batch_size

    def start_epoch(self, seed: int) -> None:
        r"""Resets the diagnostics for the epoch whose seed is
        :obj:`seed`."""
        self.diagnostics.reset(seed + DIAGNOSTICS_SEED)

    def observe(self, users: Tensor, pos: Tensor, neg: Negatives) -> None:
        r"""Feeds one step's negatives to the diagnostics: the real item
        ids the loss sees, or those synthetic negatives are made of (one
        per layer, MixGCF and DENS)."""
        ids = neg.ids if neg.ids is not None else neg.source_ids
        if ids is not None:
            self.diagnostics.observe(users, pos, ids.detach())
        else:
            masked = None
            if neg.scored_ids is not None:
                masked = neg.accidental_hits
            self.diagnostics.observe(users, pos, neg.scored_ids, masked)

    @torch.no_grad()
    def summary(self, model: torch.nn.Module) -> Dict[str, object]:
        r"""The diagnostic columns of the epoch, the hardness ranked under
        :obj:`model` in evaluation mode."""
        user_emb, item_emb = model()
        return self.diagnostics.summary(
            user_emb, item_emb, batch_size=self.eval_batch_size
        )

    def stop_reason(self, history: List[Dict[str, object]]) -> Optional[str]:
        r"""Why early stopping ends the run after :obj:`history`
        (:obj:`None`: it goes on)."""
        return self.early_stopping.reason(history)

    @staticmethod
    def line(row: Dict[str, object]) -> str:
        r"""The hardness and false-negative rate of :obj:`row`, to append
        to its log line (measured values only)."""
        parts = [
            f'{name} {row[key]:.4f}'
            for key, name in (
                ('neg_hardness', 'hardness'),
                ('neg_false_negative_rate', 'false neg'),
            )
            if isinstance(row.get(key), float)
        ]
        return ''.join(f' | {part}' for part in parts)

    def log(self, row: Dict[str, object]) -> None:
        if self.tensorboard is not None:
            self.tensorboard.log(row)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}({self.diagnostics!r}, '
            f'{self.early_stopping!r})'
        )


__all__ = ['RunMonitor']
