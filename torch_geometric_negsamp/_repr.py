r"""A :obj:`__repr__` of the form ``Name(part, ...)`` whose optional parts
(a subclass's extra arguments) may be empty."""


def format_repr(obj: object, *parts: str) -> str:
    r"""``ClassName(part, part, ...)`` for :obj:`obj`, the empty parts left
    out."""
    return f'{obj.__class__.__name__}({", ".join(p for p in parts if p)})'
