r"""The one home of moving, sharing and sizing the tensors a structure holds
(the index of positives, the k-hop regions, their row sets, the knowledge
graph neighbourhoods)."""

from typing import Iterable, List, Tuple, TypeVar

from torch import Tensor

S = TypeVar('S', bound='TensorStore')


class TensorStore:
    r"""Mixin: :meth:`to`, :meth:`share_memory_` and :attr:`nbytes` over the
    tensors in the attributes named by :obj:`_TENSORS` (an attribute may be
    :obj:`None`) and over the parts :meth:`_parts` returns, themselves
    :class:`TensorStore` objects (moved in place).

    A plain :class:`torch.nn.Module` buffer would not do: these structures
    are built once, shared by :class:`~torch.utils.data.DataLoader` workers
    and sampler copies, and hold no parameters, so they stay plain objects.
    """

    #: The attributes that hold the object's own tensors.
    _TENSORS: Tuple[str, ...] = ()

    def _parts(self) -> Iterable['TensorStore']:
        r"""The parts that hold tensors of their own."""
        return ()

    def _tensors(self) -> List[Tensor]:
        r"""The object's own tensors (not those of its parts)."""
        out = [getattr(self, name) for name in self._TENSORS]
        return [t for t in out if t is not None]

    def _moved(self) -> None:
        r"""Called after :meth:`to` and :meth:`share_memory_` (to rebuild
        views of the moved tensors)."""

    @property
    def nbytes(self) -> int:
        r"""Bytes held by the tensors (the parts' included)."""
        own = sum(t.numel() * t.element_size() for t in self._tensors())
        return own + sum(part.nbytes for part in self._parts())

    def to(self: S, device) -> S:
        r"""Moves the tensors to :obj:`device` (in place) and returns the
        object."""
        for name in self._TENSORS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        for part in self._parts():
            part.to(device)
        self._moved()
        return self

    def share_memory_(self: S) -> S:
        r"""Moves the tensors to shared memory (in place), so that
        :class:`~torch.utils.data.DataLoader` workers read one copy; returns
        the object."""
        for t in self._tensors():
            t.share_memory_()
        for part in self._parts():
            part.share_memory_()
        self._moved()
        return self
