r"""Checks and random helpers shared by the selectors."""

from typing import Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import uniform


def check_scores(scores, name: str = 'scores') -> Tensor:
    if not isinstance(scores, Tensor):
        raise TypeError(
            f"'{name}' must be a torch.Tensor (got {type(scores).__name__})"
        )
    if scores.dim() != 2:
        raise ValueError(
            f"'{name}' must have shape [B, M] (got {list(scores.shape)})"
        )
    if scores.size(1) == 0:
        raise ValueError(
            f"'{name}' holds an empty candidate pool (shape "
            f'{list(scores.shape)})'
        )
    return scores


def check_k(k, num_candidates: Optional[int] = None, name: str = 'k') -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"'{name}' must be an int (got {type(k).__name__})")
    if k < 1:
        raise ValueError(f"'{name}' must be a positive integer (got {k})")
    if num_candidates is not None and k > num_candidates:
        raise ValueError(
            f"'{name}' ({k}) cannot exceed the number of "
            f'candidates M ({num_candidates})'
        )
    return k


def make_generator(seed: Optional[int], generator: Optional[torch.Generator]):
    if seed is not None and generator is not None:
        raise ValueError("give at most one of 'seed' and 'generator'")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(
                f"'seed' must be an int (got {type(seed).__name__})"
            )
        return torch.Generator().manual_seed(seed)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"'generator' must be a torch.Generator (got "
            f'{type(generator).__name__})'
        )
    return generator


def gumbel(shape, device, generator) -> Tensor:
    r"""Standard Gumbel noise through :obj:`generator`."""
    u = uniform(shape, device, generator).clamp_(min=1e-20, max=1 - 1e-7)
    return -torch.log(-torch.log(u))
