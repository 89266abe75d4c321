r"""Random draws: the one home of every draw the package makes.

Every function takes an optional :class:`torch.Generator`. A generator may
live on another device than the data (one CPU generator driving CUDA data
reproducibly): the draw then happens where the generator lives and is
moved. Integer draws are exact: a float64 uniform has 53 random bits, so
``floor(u * high)`` is exactly uniform-up-to-2**-53 and, as ``u < 1``, always
below :obj:`high` for ``high <= 2**53`` (the product rounds down, never up
to :obj:`high`); larger ranges combine two draws. No result is clamped into
range.
"""

import hashlib
import os
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_generator, check_seed

Shape = Union[int, Tuple[int, ...], torch.Size]

_EXACT_FLOAT = 2**53


def _same_device(a: torch.device, b: torch.device) -> bool:
    # A CUDA device without an index means the current one.
    if a.type != b.type:
        return False
    if a.type == 'cpu':
        return True
    return a.index is None or b.index is None or a.index == b.index


def on_generator_device(make, device, generator):
    r"""Runs ``make(device=..., generator=...)`` where :obj:`generator`
    lives and moves the result to :obj:`device`."""
    device = torch.device(device)
    if generator is None or _same_device(generator.device, device):
        return make(device=device, generator=generator)
    return make(device=generator.device, generator=generator).to(device)


def uniform(
    shape: Shape,
    device,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    r"""``U[0, 1)`` floats of :obj:`dtype` on :obj:`device`."""
    if isinstance(shape, int):
        shape = (shape,)
    return on_generator_device(
        lambda **kw: torch.rand(shape, dtype=dtype, **kw), device, generator
    )


def gumbel(
    shape: Shape,
    device,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Standard Gumbel noise (for the Gumbel-max trick)."""
    u = uniform(shape, device, generator, torch.float64)
    # u in [0, 1): -log(-log(u)) is -inf at 0 and finite below 1; nudge 0.
    u = u.clamp_(min=2**-60)
    return (-torch.log(-torch.log(u))).to(dtype)


def randint_below(
    high: Tensor, generator: Optional[torch.Generator] = None
) -> Tensor:
    r"""One integer uniform in ``[0, high_i)`` for every entry of
    :obj:`high`, each in ``[1, 2**53]`` (callers bound their ranges once,
    e.g. node counts by :func:`~torch_geometric_negsamp._validate.
    check_num_nodes`; no host synchronisation here)."""
    return (uniform(high.shape, high.device, generator) * high.double()).long()


def randint_below_wide(
    high: Tensor, generator: Optional[torch.Generator] = None
) -> Tensor:
    r""":func:`randint_below` for ranges up to 2**62 (pair-key spaces)."""
    out = randint_below(high.clamp(max=_EXACT_FLOAT), generator)
    if high.numel() == 0 or int(high.max()) <= _EXACT_FLOAT:
        return out
    # Beyond 2**53 a float64 draw would skip values: two 31-bit halves make
    # a uniform 62-bit integer; a draw at or above 'high' is redrawn (each
    # such draw has probability below 2**-22, so the loop is short), and
    # the cap keeps it bounded whatever the generator yields.
    todo = (high > _EXACT_FLOAT).nonzero().view(-1)
    for _ in range(64):
        h = high[todo]
        half = torch.full_like(h, 2**31)
        x = randint_below(half, generator) * 2**31
        x = x + randint_below(half, generator)
        ok = x < h
        out[todo[ok]] = x[ok]
        todo = todo[~ok]
        if todo.numel() == 0:
            return out
    raise RuntimeError(
        'the random generator returned 64 rounds of draws out of range; '
        'it is not uniform'
    )


def randint(
    high: int,
    num: int,
    device,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r""":obj:`num` integers uniform in ``[0, high)``, ``1 <= high <=
    2**53``."""
    full = torch.full((num,), high, dtype=torch.long, device=device)
    return randint_below(full, generator)


def randperm(
    num: int, device, generator: Optional[torch.Generator] = None
) -> Tensor:
    r"""A uniformly random permutation of ``range(num)``."""
    return on_generator_device(
        lambda **kw: torch.randperm(num, **kw), device, generator
    )


def group_shuffle(
    seg: Tensor, num_seg: int, generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Tensor]:
    r"""A permutation that groups :obj:`seg` by segment (ascending) in
    uniformly random order within each segment, and the position of each
    permuted element inside its segment."""
    order = randperm(seg.numel(), seg.device, generator)
    order = order[torch.sort(seg[order], stable=True).indices]
    count = torch.bincount(seg, minlength=num_seg)
    start = torch.cumsum(count, 0) - count
    pos = torch.arange(seg.numel(), device=seg.device) - start[seg[order]]
    return order, pos


# ----------------------------------------------------------- weighted draws
def quantize_weights(weight: Tensor, name: str = 'weight') -> Tensor:
    r"""Non-negative float weights as ``int64`` units whose total is at most
    2**53, so that every cumulative sum and every draw from them is exact
    integer arithmetic, whatever the magnitude of the weights.

    The weights are scaled by their maximum first (only ratios matter, so
    no weight can overflow), then rounded; a positive weight keeps at least
    one unit (it stays drawable) and a zero weight stays zero (it is never
    drawn). The relative error of each probability is below
    ``N / 2**53`` for :math:`N` weights.
    """
    weight = weight.double()
    if weight.numel() == 0:
        raise ValueError(f"'{name}' must not be empty")
    if not bool(torch.isfinite(weight).all()):
        raise ValueError(f"'{name}' must be finite")
    if bool((weight < 0).any()):
        raise ValueError(f"'{name}' must be non-negative")
    top = weight.max()
    if not bool(top > 0):
        raise ValueError(
            f"'{name}' must have a positive entry (got all zeros)"
        )
    unit = float(_EXACT_FLOAT // weight.numel())
    units = torch.round(weight / top * unit).long()
    return torch.where(weight > 0, units.clamp(min=1), units)


def quantize_log_weights(log_weight: Tensor, name: str = 'weight') -> Tensor:
    r""":func:`quantize_weights` of ``exp(log_weight)``, computed without
    ever forming the (possibly overflowing) weights: :math:`-\infty` marks a
    zero weight."""
    log_weight = log_weight.double()
    if bool(torch.isnan(log_weight).any()) or bool(
        (log_weight == float('inf')).any()
    ):
        raise ValueError(f"'{name}' must be finite")
    top = log_weight.max()
    if not bool(top > float('-inf')):
        raise ValueError(
            f"'{name}' must have a positive entry (got all zeros)"
        )
    return quantize_weights(torch.exp(log_weight - top), name)


def draw_from_cdf(
    cdf: Tensor,
    num: int,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r""":obj:`num` indices drawn with probability proportional to the
    ``int64`` units whose inclusive cumulative sum is :obj:`cdf` (see
    :func:`quantize_weights`). Exact; an index of zero units is never
    drawn."""
    total = cdf[-1:].expand(num)
    u = randint_below(total, generator)
    return torch.searchsorted(cdf, u, right=True)


def make_generator(
    seed: Optional[int],
    generator: Optional[torch.Generator],
) -> Optional[torch.Generator]:
    r"""The generator of a component given :obj:`seed` or
    :obj:`generator` (at most one of them), or :obj:`None` for the global
    one."""
    if seed is not None and generator is not None:
        raise ValueError(
            "give at most one of 'seed' and 'generator' (got both)"
        )
    check_generator(generator)
    if seed is not None:
        return torch.Generator().manual_seed(check_seed(seed))
    return generator


def mix_seed(*parts: int) -> int:
    r"""A seed in ``[0, 2**63)`` derived from integers (e.g. a base seed and
    a worker, rank or epoch number): a stable hash, the same on every
    platform and Python version, so derived streams are reproducible and
    distinct."""
    data = b''.join(int(p).to_bytes(16, 'little', signed=True) for p in parts)
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 1


# ------------------------------------------------------ per-process streams
def process_key() -> Tuple[int, Optional[int]]:
    r"""Names the random stream of the current process: its id and, in a
    :class:`~torch.utils.data.DataLoader` worker, the worker's seed. A
    component keeps the generator :func:`process_generator` gave it while
    this key stays the same; in a worker (which holds a copy of the
    component, generator included) the key differs, so the worker derives
    its own."""
    info = torch.utils.data.get_worker_info()
    return os.getpid(), None if info is None else info.seed


def process_generator(
    seed: Optional[int], generator: Optional[torch.Generator]
) -> Optional[torch.Generator]:
    r"""The generator of a component (given its :obj:`seed` or its
    :obj:`generator`) for the current process.

    In the main process: :obj:`generator` itself, or a generator seeded
    with :obj:`seed`. In a :class:`~torch.utils.data.DataLoader` worker: a
    fresh generator seeded with :func:`mix_seed` of :obj:`seed` (or the
    generator's initial seed) and the worker's own seed, so that workers
    draw distinct streams, reproducible under :func:`torch.manual_seed`
    (which fixes the workers' seeds). :obj:`None` (the global generator) if
    neither is given.
    """
    if seed is None and generator is None:
        return None
    info = torch.utils.data.get_worker_info()
    if info is None and generator is not None:
        return generator
    base = seed if seed is not None else generator.initial_seed()
    if info is not None:
        base = mix_seed(base, info.seed)
    return torch.Generator().manual_seed(base)


class SeededStream:
    r"""Mixin that gives a component its own random stream, from the
    :obj:`seed` and :obj:`generator` attributes it sets (at most one of
    them; :func:`make_generator` checks them): :meth:`get_generator` and
    :meth:`reseed`."""

    seed: Optional[int] = None
    generator: Optional[torch.Generator] = None
    _worker_key: Optional[Tuple[int, Optional[int]]] = None
    _worker_generator: Optional[torch.Generator] = None

    def get_generator(self) -> Optional[torch.Generator]:
        r"""The generator of this process (see :func:`process_generator`):
        the given one (or one seeded with :obj:`seed`) in the main process,
        one derived from that seed and the worker's own in a
        :class:`~torch.utils.data.DataLoader` worker, so that workers draw
        distinct streams that are reproducible under
        :func:`torch.manual_seed`. :obj:`None` (the global generator) if
        neither :obj:`seed` nor :obj:`generator` was given."""
        if self.seed is None and self.generator is None:
            return None
        key = process_key()
        if self._worker_key != key:
            self._worker_key = key
            self._worker_generator = process_generator(
                self.seed, self.generator
            )
        return self._worker_generator

    def reseed(self, seed: int):
        r"""Restarts the random stream from :obj:`seed` (e.g. at every
        epoch, so that a run resumed from a checkpoint draws what an
        uninterrupted run would have drawn); returns :obj:`self`."""
        self.seed, self.generator = check_seed(seed), None
        self._worker_key = None
        return self


# ------------------------------------------------------------------ recns
def sample_ranks(
    size: Tensor, num: int, generator: Optional[torch.Generator] = None
) -> Tensor:
    r""":obj:`num` ranks in ``[0, size_b)`` for every entry :math:`b` of
    the ``long`` tensor :obj:`size` (``[B]``, each in ``[0, 2**53]``),
    returned as ``[B, num]``:

    * **without replacement** where ``size_b >= num``: a uniformly random
      :obj:`num`-subset of ``[0, size_b)`` (Floyd's algorithm, exact,
      :obj:`num` draws and no rejection), in uniformly random order, so
      that any fixed set of positions holds a uniform subset too;
    * **with replacement** where ``0 < size_b < num``: independent uniform
      draws;
    * :obj:`-1` where ``size_b == 0``.

    Map the ranks to members with a select (e.g. the :math:`r`-th item of a
    sorted row). No host synchronisation; the work is
    :math:`O(B \cdot num^2)`, for the small pools of candidate selectors.
    """
    B = size.numel()
    size = size.view(-1)
    out = torch.full((B, num), -1, dtype=torch.long, device=size.device)
    if B == 0 or num == 0:
        return out
    distinct = size >= num
    one = torch.ones_like(size)
    for t in range(num):
        # Floyd: j = size - num + t; draw r in [0, j]; take j if r is taken.
        j = size - num + t
        high = torch.where(distinct, j + 1, torch.where(size > 0, size, one))
        r = randint_below(high, generator)
        if t > 0:
            taken = (out[:, :t] == r.unsqueeze(1)).any(dim=1)
            r = torch.where(distinct & taken, j, r)
        out[:, t] = r
    # Floyd's order is not exchangeable (late slots favour large ranks):
    # a uniformly random permutation of every row makes it so.
    keys = uniform((B, num), size.device, generator)
    out = out.gather(1, keys.argsort(dim=1))
    return torch.where((size > 0).unsqueeze(1), out, -1)
