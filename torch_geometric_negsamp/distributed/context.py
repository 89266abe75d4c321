r"""The process group a run belongs to (one process, or many under
``torchrun``)."""

import gc
import os
from dataclasses import dataclass
from typing import Optional

import torch
import torch.distributed as dist

from torch_geometric_negsamp._random import mix_seed
from torch_geometric_negsamp._validate import check_int


@dataclass(frozen=True)
class DistributedContext:
    r"""Where this process stands among the processes of one run.

    A single process is the context ``rank=0, world_size=1`` and needs no
    process group; under ``torchrun`` (or any launcher that sets ``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``
    and ``MASTER_PORT``), :meth:`from_env` starts the default process group
    (gloo on CPU, NCCL on CUDA) and returns its context.

    Args:
        rank (int): This process's rank, ``0 <= rank < world_size``.
        world_size (int): The number of processes.
        local_rank (int): The rank among the processes of this host.
        local_world_size (int): The number of processes on this host.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    def __post_init__(self):
        check_int(self.world_size, 'world_size', minimum=1)
        check_int(self.rank, 'rank', minimum=0, maximum=self.world_size - 1)
        check_int(self.local_world_size, 'local_world_size', minimum=1)
        check_int(
            self.local_rank,
            'local_rank',
            minimum=0,
            maximum=self.local_world_size - 1,
        )

    @classmethod
    def from_env(
        cls, device: Optional[torch.device] = None
    ) -> 'DistributedContext':
        r"""The context described by the launcher's environment variables,
        with the default process group started (if it is not already);
        a single-process context when ``WORLD_SIZE`` is unset or 1."""
        world = int(os.environ.get('WORLD_SIZE', '1'))
        if world <= 1:
            return cls()
        ctx = cls(
            rank=int(os.environ['RANK']),
            world_size=world,
            local_rank=int(os.environ.get('LOCAL_RANK', '0')),
            local_world_size=int(os.environ.get('LOCAL_WORLD_SIZE', '1')),
        )
        if not dist.is_initialized():
            cuda = device is not None and torch.device(device).type == 'cuda'
            dist.init_process_group('nccl' if cuda else 'gloo')
        return ctx

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        r"""Whether this process prints, logs, plots and checkpoints."""
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        r"""This rank's seed for a stream seeded with :obj:`seed` (e.g. one
        epoch's sampler stream): :obj:`seed` itself in a single process (so
        a run's draws do not change), and ``mix_seed(seed, rank,
        world_size)`` otherwise: reproducible, and distinct across ranks."""
        if not self.is_distributed:
            return seed
        return mix_seed(seed, self.rank, self.world_size)

    def barrier(self) -> None:
        if self.is_distributed:
            dist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        r"""Sums :obj:`tensor` over all ranks (in place) and returns it."""
        if self.is_distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def shutdown(self) -> None:
        r"""Ends the process group (:func:`end_process_group`). Drop every
        :class:`~torch.nn.parallel.DistributedDataParallel` module first."""
        if self.is_distributed:
            end_process_group()


def end_process_group() -> None:
    r"""Destroys the default process group, if one is initialised, after
    a garbage collection.

    A :class:`~torch.nn.parallel.DistributedDataParallel` module's reducer
    holds a reference to the group and frees it without releasing the GIL.
    If that is the group's last reference, the gloo destructor joins its
    worker threads while holding the GIL, and a worker that is still
    freeing a finished collective's tensors waits for the GIL: the process
    can hang on exit. Collecting unreachable modules (e.g. a trainer caught
    in a reference cycle) while the group is still registered, and
    destroying the group itself last, frees it with the GIL released."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
