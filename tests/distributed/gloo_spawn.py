r"""Runs a function in several gloo processes with the environment that
torchrun sets (a module of its own: :func:`torch.multiprocessing.spawn`
pickles the entry point by module name, and every test folder has a
``conftest``)."""

import os
import socket

import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _entry(rank, world, port, fn, args):
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world),
    )
    fn(rank, world, *args)


def spawn(fn, world: int = 2, args=()) -> None:
    r"""Runs ``fn(rank, world, *args)`` in :obj:`world` processes; a failing
    rank fails the caller."""
    mp.spawn(_entry, args=(world, free_port(), fn, args), nprocs=world)
