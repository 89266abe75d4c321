r"""Finished runs: :func:`load_run` restores one from its folder and
:func:`selected_test_recall` evaluates its selected checkpoint user by user,
what paired comparisons of runs on the same split need
(:func:`~torch_geometric_negsamp.train.compare.paired_gain`)."""

import dataclasses
import os
from typing import Callable, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_instance, check_path
from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.metrics import evaluate_ranking_per_user
from torch_geometric_negsamp.train import checkpoint
from torch_geometric_negsamp.train.config import TrainConfig
from torch_geometric_negsamp.train.trainer import Trainer


def load_run(
    run_dir: str,
    split: Optional[InteractionSplit] = None,
    device: Optional[str] = None,
    log: Callable[[str], None] = print,
) -> Trainer:
    r"""The :class:`~torch_geometric_negsamp.train.Trainer` of the run saved
    in :obj:`run_dir`: its configuration, weights, history and selected
    checkpoint restored from its :obj:`checkpoint.pt`, to evaluate it or to
    go on training it.

    Args:
        run_dir (str): The run's output folder.
        split (InteractionSplit, optional): Its data, when already loaded
            (checked against the checkpoint's data fingerprint).
            (default: :obj:`None`: loaded as its configuration says)
        device (str, optional): Where to put it instead of the saved
            device. (default: :obj:`None`)
        log (callable, optional): Where progress lines go.
            (default: :func:`print`)

    Raises:
        TypeError: If an argument has the wrong type (the message names it).
        ValueError: If the saved or given :obj:`device` is not available.
        CheckpointError: Without a readable checkpoint in :obj:`run_dir`,
            or with one trained on other data than :obj:`split`.
    """
    run_dir = check_path(run_dir, 'run_dir')
    check_instance(split, 'split', InteractionSplit, optional=True)
    check_instance(device, 'device', str, optional=True)
    if not callable(log):
        raise TypeError(f"'log' must be callable (got {type(log).__name__})")
    path = os.path.join(run_dir, 'checkpoint.pt')
    if not os.path.lexists(path):
        raise checkpoint.CheckpointError(
            f"'run_dir' holds no run: {path} does not exist"
        )
    saved = checkpoint.read_checkpoint(path, map_location='cpu')['config']
    if not isinstance(saved, dict):
        raise checkpoint.CheckpointError(f'{path} holds no configuration')
    # Fields of older versions that this one no longer has are left out;
    # fields it added since take their defaults.
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = dataclasses.replace(
        TrainConfig(**{k: v for k, v in saved.items() if k in known}),
        out_dir=run_dir,
        resume=True,
        tensorboard=None,
        **({} if device is None else {'device': device}),
    )
    trainer = Trainer(config, log=log, split=split)
    # Read again, onto the trainer's device, and checked against its data:
    trainer.load_checkpoint()
    return trainer


@torch.no_grad()
def selected_test_recall(trainer: Trainer) -> Tensor:
    r"""The test Recall@:obj:`k` of every test user (ascending ids,
    :func:`~torch_geometric_negsamp.metrics.evaluate_ranking_per_user`,
    with :attr:`Trainer.test_known` masked as :meth:`Trainer.evaluate`
    masks it) under :obj:`trainer`'s selected checkpoint,
    whose weights its model is left with; their mean is that checkpoint's
    :obj:`test_recall@k`. One process: the values are this process's.

    Raises:
        ValueError: If :obj:`trainer` has no selected checkpoint yet.
    """
    if trainer.best_state is None:
        raise ValueError(
            "'trainer' has no selected checkpoint yet: call fit() first"
        )
    trainer.model.load_state_dict(trainer.best_state)
    trainer.model.eval()
    user_emb, item_emb = trainer.model()
    k = trainer.config.k
    return evaluate_ranking_per_user(
        user_emb,
        item_emb,
        trainer.test_known,
        trainer.split.test_index,
        k=k,
        batch_size=trainer.config.eval_batch_size,
    )[f'recall@{k}']


__all__ = ['load_run', 'selected_test_recall']
