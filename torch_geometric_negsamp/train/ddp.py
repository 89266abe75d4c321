r"""Data-parallel training under ``torchrun``: :class:`DataParallel`, the
part of a :class:`~torch_geometric_negsamp.train.Trainer` run that depends
on the number of processes.

In a single process (no ``WORLD_SIZE`` in the environment, or 1) every
method is the identity of what the trainer does alone, so a run's random
streams, batches and figures do not change. Under ``torchrun`` with
:math:`W` processes:

* the default process group is started from the launcher's variables (gloo
  on CPU, NCCL on CUDA, one GPU per local rank);
* the encoder's parameters are wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, whose gradient
  all-reduce averages the ranks' batch losses;
* each epoch's permutation of the training pairs (the same on every rank)
  is split with :func:`~torch_geometric_negsamp.distributed.shard`, so that
  every positive is trained exactly once per epoch, in
  :func:`~torch_geometric_negsamp.distributed.num_steps` steps of at most
  :obj:`batch_size` positives per rank;
* each rank's sampler stream is seeded from ``(seed, rank, epoch)``
  (:meth:`~torch_geometric_negsamp.distributed.DistributedContext.
  rank_seed`): reproducible and distinct across ranks;
* evaluation splits the users across ranks and all-reduces the metric sums
  (:func:`~torch_geometric_negsamp.metrics.ranking_metric_sums`);
* rank 0 alone prints, writes logs, plots and checkpoints; a checkpoint
  holds every rank's strategy state, so :obj:`--resume` continues each
  rank's stream.
"""

import contextlib
import math
import os
import sys
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

import torch
import torch.distributed as dist
from torch import Tensor

from torch_geometric_negsamp.distributed import (
    DistributedContext,
    batches,
    num_steps,
    shard,
)
from torch_geometric_negsamp.distributed.context import end_process_group
from torch_geometric_negsamp.metrics import (
    METRIC_NAMES,
    evaluate_ranking,
    ranking_metric_sums,
)


class _Parameters(torch.nn.Module):
    r"""The encoder's parameters and :obj:`extra` ones (the strategy's,
    e.g. DENS's gates), the same tensors, not copies, without the encoder's
    buffers: the adjacency buffers are built identically on every rank and
    need no broadcast. Its forward runs the trainer's loss, so that
    :class:`~torch.nn.parallel.DistributedDataParallel` sees the step."""

    def __init__(
        self,
        model: torch.nn.Module,
        extra: Optional[List[torch.nn.Parameter]] = None,
    ):
        super().__init__()
        self.params = torch.nn.ParameterList(
            [*model.parameters(), *(extra or [])]
        )

    def forward(self, fn: Callable[..., Tensor], *args: Any) -> Tensor:
        return fn(*args)


class DataParallel:
    r"""The data-parallel side of a training run (see the module's
    docstring); :meth:`from_env` builds it from the launcher's environment.

    Args:
        ctx (DistributedContext, optional): This process's place in the
            run. (default: a single process)
    """

    def __init__(self, ctx: Optional[DistributedContext] = None):
        self.ctx = DistributedContext() if ctx is None else ctx
        self.module = None

    @classmethod
    def from_env(cls, device: torch.device) -> 'DataParallel':
        r"""Starts the default process group when ``torchrun`` (or a
        launcher setting the same variables) started this process; on CUDA
        each local rank takes its own GPU (``cuda:<local_rank>``)."""
        device = torch.device(device)
        world = int(os.environ.get('WORLD_SIZE', '1'))
        if world > 1 and device.type == 'cuda' and device.index is None:
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', '0')))
        return cls(DistributedContext.from_env(device))

    # ------------------------------------------------------------ state
    @property
    def is_main(self) -> bool:
        r"""Whether this process prints, logs, plots and checkpoints."""
        return self.ctx.is_main

    @property
    def world_size(self) -> int:
        return self.ctx.world_size

    def describe(self) -> str:
        r"""The start line's note: empty in a single process, the number of
        processes and the backend otherwise."""
        if not self.ctx.is_distributed:
            return ''
        return f' x {self.world_size} processes ({dist.get_backend()})'

    def gate(self, log: Callable[[str], None]) -> Callable[[str], None]:
        r""":obj:`log` on rank 0, a function that drops its line on the
        other ranks."""
        return log if self.is_main else _drop

    # ------------------------------------------------------------ training
    def wrap(
        self,
        model: torch.nn.Module,
        extra: Optional[List[torch.nn.Parameter]] = None,
    ) -> None:
        r"""Wraps the parameters of :obj:`model` and :obj:`extra` in
        :class:`~torch.nn.parallel.DistributedDataParallel` (which checks
        their shapes across ranks, broadcasts rank 0's values and averages
        their gradients); nothing in a single process. Every one of them
        must take part in each step's loss."""
        if not self.ctx.is_distributed:
            return
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        self.module = DistributedDataParallel(
            _Parameters(model, extra),
            device_ids=[device] if device.type == 'cuda' else None,
        )

    def forward(self, loss_fn: Callable[..., Tensor], *args: Any) -> Tensor:
        r"""``loss_fn(*args)``; under DDP inside the wrapped module's
        forward, so that the backward pass all-reduces the gradients."""
        if self.module is None:
            return loss_fn(*args)
        return self.module(loss_fn, *args)

    def rank_seed(self, seed: int) -> int:
        r"""This rank's seed of an epoch's streams (:obj:`seed` itself in a
        single process)."""
        return self.ctx.rank_seed(seed)

    def batches(self, perm: Tensor, batch_size: int) -> List[Tensor]:
        r"""This rank's batches of an epoch's permutation :obj:`perm`: in a
        single process its consecutive slices of :obj:`batch_size`; under
        DDP this rank's :func:`shard` of :obj:`perm`, in the
        :func:`num_steps` batches every rank takes (at most
        :obj:`batch_size` positives each)."""
        if not self.ctx.is_distributed:
            num = perm.numel()
            return [
                perm[i : i + batch_size] for i in range(0, num, batch_size)
            ]
        total, world = perm.numel(), self.world_size
        steps = num_steps(total, world, batch_size)
        if total // world < steps:
            # Every rank needs a positive in each step: an empty batch has
            # no loss to average.
            raise ValueError(
                f"'batch_size' ({batch_size}) leaves a rank without a "
                f'positive in some of the {steps} steps of {total} training '
                f'pairs on {world} processes; raise it, or use fewer '
                f'processes'
            )
        return batches(shard(perm, self.ctx.rank, world), steps)

    def average(self, value: Tensor) -> Tensor:
        r"""The mean of :obj:`value` over the ranks (:obj:`value` itself in
        a single process)."""
        if not self.ctx.is_distributed:
            return value
        return (
            self.ctx.all_reduce_sum(value.detach().clone()) / self.world_size
        )

    def pool_columns(self, columns: Dict[str, Any]) -> Dict[str, Any]:
        r"""The per-rank diagnostic :obj:`columns` pooled over the ranks,
        so that every rank records (and a checkpoint restores) the same
        row: counts (``*_rows``) summed, rates and shares averaged (every
        rank runs the same number of steps); :obj:`None` stays :obj:`None`
        when any rank has it; other values are kept as they are."""
        if not self.ctx.is_distributed:
            return columns
        numeric = (int, float)
        keys = sorted(
            key
            for key, value in columns.items()
            if value is None
            or (isinstance(value, numeric) and not isinstance(value, bool))
        )
        device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
        values = torch.tensor(
            [math.nan if columns[k] is None else columns[k] for k in keys],
            dtype=torch.float64,
            device=device,
        )
        total = self.ctx.all_reduce_sum(values).tolist()
        pooled = dict(columns)
        for key, value in zip(keys, total):
            if math.isnan(value):
                pooled[key] = None
            elif key.endswith('_rows'):
                pooled[key] = int(round(value))
            else:
                pooled[key] = value / self.world_size
        return pooled

    def any(self, flag: bool) -> bool:
        r"""Whether :obj:`flag` holds on some rank, so that every rank takes
        the same decision (e.g. to stop when the time budget is spent)."""
        if not self.ctx.is_distributed:
            return flag
        device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
        value = torch.tensor([float(flag)], device=device)
        return bool(self.ctx.all_reduce_sum(value) > 0)

    # ---------------------------------------------------------- evaluation
    def evaluate_ranking(
        self,
        user_emb: Tensor,
        item_emb: Tensor,
        train_index: Tensor,
        test_index: Tensor,
        k: int,
        batch_size: int,
    ) -> Dict[str, float]:
        r""":func:`~torch_geometric_negsamp.metrics.evaluate_ranking`; under
        DDP each rank ranks its :func:`shard` of the users and the metric
        sums are all-reduced (equal, up to float64 rounding, to a single
        process's evaluation of the same weights)."""
        if not self.ctx.is_distributed:
            return evaluate_ranking(
                user_emb, item_emb, train_index, test_index, k, batch_size
            )
        sums = split_metric_sums(
            user_emb,
            item_emb,
            train_index,
            test_index,
            k,
            batch_size,
            self.ctx.rank,
            self.world_size,
        )
        sums = self.ctx.all_reduce_sum(sums)
        count = max(float(sums[-1]), 1.0)
        out = {
            f'{name}@{k}': float(sums[i]) / count
            for i, name in enumerate(METRIC_NAMES)
        }
        out['num_users'] = int(sums[-1])
        return out

    # ------------------------------------------------------- checkpointing
    def gather_state(self, state: Dict[str, Any]) -> Dict[str, Any]:
        r"""Every rank's :obj:`state` (a strategy's state dict) on every
        rank, as ``{'world_size': W, 'ranks': [...]}``; :obj:`state` itself
        in a single process."""
        if not self.ctx.is_distributed:
            return state
        states: List[Any] = [None] * self.world_size
        dist.all_gather_object(states, state)
        return {'world_size': self.world_size, 'ranks': states}

    def scatter_state(self, state: Mapping[str, Any]) -> Any:
        r"""This rank's part of a state :meth:`gather_state` made; a
        :class:`ValueError` when it was saved by another number of
        processes."""
        saved = 1
        if isinstance(state, Mapping) and set(state) == {
            'world_size',
            'ranks',
        }:
            saved = state['world_size']
        if saved != self.world_size:
            raise ValueError(
                f'it was trained on {saved} process(es), this run has '
                f'{self.world_size}'
            )
        if not self.ctx.is_distributed:
            return state
        return state['ranks'][self.ctx.rank]

    def shutdown(self) -> None:
        r"""Ends the process group (if this run started one)."""
        self.ctx.shutdown()

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(rank={self.ctx.rank}, '
            f'world_size={self.world_size})'
        )


def _drop(line: str) -> None:
    pass


def split_metric_sums(
    user_emb: Tensor,
    item_emb: Tensor,
    train_index: Tensor,
    test_index: Tensor,
    k: int,
    batch_size: int,
    rank: int,
    world_size: int,
) -> Tensor:
    r"""The float64 sums of :obj:`METRIC_NAMES` at :obj:`k` and the number
    of evaluated users over :obj:`rank`'s :func:`shard` of the users
    (contiguous ids), in blocks of :obj:`batch_size` users; the sums of all
    ranks add up to those of all users."""
    mine = shard(torch.arange(user_emb.size(0)), rank, world_size)
    out = torch.zeros(len(METRIC_NAMES) + 1, dtype=torch.float64)
    if mine.numel() == 0:
        return out.to(user_emb.device)
    lo, hi = int(mine[0]), int(mine[-1]) + 1
    pairs = []
    for index in (train_index, test_index):
        index = index[:, (index[0] >= lo) & (index[0] < hi)]
        index = index[:, torch.argsort(index[0], stable=True)]
        pairs.append(index)
    for start in range(lo, hi, batch_size):
        end = min(start + batch_size, hi)
        scores = user_emb[start:end] @ item_emb.t()
        block = []
        for index in pairs:
            a, b = torch.searchsorted(
                index[0], torch.tensor([start, end], device=index.device)
            ).tolist()
            part = index[:, a:b]
            block.append(torch.stack([part[0] - start, part[1]]))
        sums = ranking_metric_sums(scores, block[0], block[1], k)
        out += torch.tensor(
            [sums[name] for name in METRIC_NAMES] + [sums['num_users']],
            dtype=torch.float64,
        )
    return out.to(user_emb.device)


@contextlib.contextmanager
def launched() -> Iterator[None]:
    r"""The command's frame under ``torchrun``: on every rank but 0 the
    standard output is silenced (rank 0 alone prints); on exit the process
    group, if one was started, is destroyed. Nothing changes in a single
    process."""
    quiet = int(os.environ.get('RANK', '0')) != 0
    stdout = sys.stdout
    if quiet:
        sys.stdout = open(os.devnull, 'w')
    try:
        yield
    finally:
        if quiet:
            sys.stdout.close()
            sys.stdout = stdout
        if dist.is_available() and dist.is_initialized():
            # Nobody leaves while another rank may still talk to it.
            dist.barrier()
            end_process_group()
