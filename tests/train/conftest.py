import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train import TrainConfig


@pytest.fixture(scope='session')
def tiny_split():
    r"""30 users, 40 items in two communities (users < 15 like items < 20,
    the others items >= 20), eight draws per user, a fifth held out."""
    gen = torch.Generator().manual_seed(0)
    U, I = 30, 40
    users = torch.arange(U).repeat_interleave(8)
    offset = (users >= 15).long() * 20
    items = offset + torch.randint(20, (users.numel(),), generator=gen)
    pairs = torch.unique(torch.stack([users, items]), dim=1)
    test_mask = torch.rand(pairs.size(1), generator=gen) < 0.2
    return InteractionSplit(pairs[:, ~test_mask], pairs[:, test_mask], U, I)


@pytest.fixture
def tiny_config():
    r"""A :class:`TrainConfig` of seconds on :obj:`tiny_split`, writing to
    :obj:`path`, with :obj:`kwargs` on top."""

    def make(path, **kwargs):
        base = dict(
            out_dir=str(path),
            progress=False,
            plot=False,
            embedding_dim=8,
            num_layers=2,
            batch_size=64,
            lr=0.01,
            epochs=1,
            eval_every=1,
            eval_batch_size=16,
            candidates=4,
            cache_size=4,
            queue_size=4,
            mixed_negatives=4,
        )
        base.update(kwargs)
        return TrainConfig(**base)

    return make
