r"""One copy of an index per host, shared by the ranks of that host."""

import json
import os
from typing import Callable

import torch

from torch_geometric_negsamp.distributed.context import DistributedContext
from torch_geometric_negsamp.index import PositiveIndex

_TENSORS = PositiveIndex._TENSORS


def _directory(name: str) -> str:
    root = '/dev/shm' if os.path.isdir('/dev/shm') else '/tmp'
    run = os.environ.get('TORCHELASTIC_RUN_ID', 'local')
    port = os.environ.get('MASTER_PORT', '0')
    return os.path.join(root, f'negsamp-{run}-{port}-{name}')


def share_on_host(
    build: Callable[[], PositiveIndex],
    ctx: DistributedContext,
    name: str = 'index',
) -> PositiveIndex:
    r"""Builds a CPU :class:`~torch_geometric_negsamp.PositiveIndex` once per
    host and maps it into every rank of the host, so that :math:`R` ranks
    on one machine hold one copy instead of :math:`R`.

    The host's local rank 0 calls :obj:`build`, writes the index's tensors
    to files in ``/dev/shm`` (memory, not disk), and the other local ranks
    map those files with :func:`torch.from_file` (``shared=True``): the
    pages are the same physical memory. The files are unlinked once every
    rank has mapped them (a mapping outlives its file), so nothing is left
    behind. In a single process, :obj:`build` is simply called.

    Args:
        build (callable): Returns the index (on the CPU).
        ctx (DistributedContext): This process's place in the run.
        name (str, optional): Distinguishes several shared indices of one
            run. (default: :obj:`'index'`)
    """
    if not ctx.is_distributed or ctx.local_world_size == 1:
        return build()
    directory = _directory(name)
    if ctx.local_rank == 0:
        index = build()
        if index.device.type != 'cpu':
            raise ValueError(
                f"'build' must return a CPU index to share on a host "
                f'(got one on {index.device})'
            )
        os.makedirs(directory, exist_ok=True)
        state = index.state()
        meta = {k: v for k, v in state.items() if k not in _TENSORS}
        for key in _TENSORS:
            value = state[key]
            meta[key] = None if value is None else value.numel()
            if value is None:
                continue
            meta[f'{key}_dtype'] = str(value.dtype).removeprefix('torch.')
            path = os.path.join(directory, key)
            mapped = torch.from_file(
                path, shared=True, size=value.numel(), dtype=value.dtype
            )
            mapped.copy_(value)
            state[key] = mapped
        with open(os.path.join(directory, 'meta.json'), 'w') as f:
            json.dump(meta, f)
        index = PositiveIndex.from_state(state)
    ctx.barrier()
    if ctx.local_rank != 0:
        with open(os.path.join(directory, 'meta.json')) as f:
            meta = json.load(f)
        state = {k: v for k, v in meta.items() if not k.endswith('_dtype')}
        for key in _TENSORS:
            if meta[key] is None:
                continue
            state[key] = torch.from_file(
                os.path.join(directory, key),
                shared=True,
                size=meta[key],
                dtype=getattr(torch, meta[f'{key}_dtype']),
            )
        index = PositiveIndex.from_state(state)
    ctx.barrier()
    if ctx.local_rank == 0:
        for key in (*_TENSORS, 'meta.json'):
            path = os.path.join(directory, key)
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(directory)
    return index
