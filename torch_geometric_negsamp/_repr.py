r"""The :obj:`__repr__` of the package's classes: ``Name(arg, ...)``."""

from typing import List


def format_repr(obj: object, *parts: str) -> str:
    r"""``ClassName(part, part, ...)`` for :obj:`obj`, the empty parts (an
    unused extra) left out."""
    return f'{obj.__class__.__name__}({", ".join(p for p in parts if p)})'


class ArgumentRepr:
    r"""Mixin: :obj:`__repr__` is ``Name(arg, ...)`` with the arguments of
    :meth:`_repr_args`, among them :meth:`_extra_repr`, what a subclass
    adds (nothing by default)."""

    def _repr_args(self) -> List[str]:
        return []

    def _extra_repr(self) -> str:
        return ''

    def __repr__(self) -> str:
        return format_repr(self, *self._repr_args())
