r"""Checks that a request fits: output sizes against device memory, pair-key
spaces, and keyed arguments against what exists."""

import os
from typing import Iterable, Sequence

import torch


def _memory_of(device) -> int:
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**40


def check_request_size(
    num_elements: int,
    name: str,
    *,
    element_size: int = 8,
    device='cpu',
    what: str = 'the result',
) -> None:
    r"""Refuses, before any allocation, a request whose output alone would
    not fit in the memory of :obj:`device`, naming the bytes it would
    need."""
    need = int(num_elements) * int(element_size)
    have = _memory_of(device)
    if need > have:
        raise ValueError(
            f"'{name}' asks for {what} of {num_elements:,} entries "
            f'({need / 2**30:,.1f} GiB), more than the '
            f'{have / 2**30:,.1f} GiB of {torch.device(device)}'
        )


def check_key_space(num_src: int, num_dst: int, name: str) -> None:
    r"""Pair keys of :obj:`num_src` x :obj:`num_dst` nodes fit in 64 bits
    with room to spare: ``num_src * (num_dst + 1) < 2**62`` (so that the
    offsets and rank shifts added to them stay below 2**63)."""
    if num_src * (num_dst + 1) >= 2**62:
        raise ValueError(
            f"'{name}' is too large for 64-bit pair keys "
            f'(got {num_src} x {num_dst} nodes)'
        )


def check_keys_known(
    keys: Iterable, name: str, known: Sequence, what: str = 'edge type'
) -> None:
    r"""Every key of a keyed argument names something that exists."""
    for key in keys:
        if key not in known:
            raise ValueError(
                f"'{name}' has a key {key!r} that is not a {what} of the "
                f'data ({list(known)})'
            )
