import os
import socket

import pytest
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


@pytest.fixture
def spawn():
    r"""Runs ``fn(rank, world, *args)`` in :obj:`world` gloo processes with
    the environment torchrun would set; a failing rank fails the test."""

    def run(fn, world=2, args=()):
        mp.spawn(_entry, args=(world, free_port(), fn, args), nprocs=world)

    return run
