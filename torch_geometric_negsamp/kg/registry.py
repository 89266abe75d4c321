r"""Name-based lookup of triple corruptions, so that a corruption can be
given as a string, a class or an instance."""

from typing import Any, Type, Union

from torch_geometric_negsamp._registry import Registry
from torch_geometric_negsamp.kg.base import TripleCorruption

#: The registered triple corruptions, by normalised name.
CORRUPTIONS: Registry[Type[TripleCorruption]] = Registry(
    'corruption', suffix='corruption', base=TripleCorruption
)


def register_corruption(name: str):
    r"""Class decorator that registers a :class:`TripleCorruption` subclass
    under :obj:`name`, so that :func:`resolve_corruption` finds it."""
    return CORRUPTIONS.register(name)


def resolve_corruption(
    query: Union[str, Type[TripleCorruption], TripleCorruption],
    *args: Any,
    **kwargs: Any,
) -> TripleCorruption:
    r"""Returns a triple corruption from a registered name
    (:obj:`"uniform"`, :obj:`"bernoulli"`; case, :obj:`-` and :obj:`_`
    ignored, a trailing :obj:`"corruption"` allowed), a class (instantiated
    with :obj:`*args, **kwargs`) or an instance (returned as is).

    Example:
        >>> resolve_corruption('bernoulli', num_neg=4, seed=0)
        BernoulliCorruption(num_neg=4, filtered=True, seed=0)
    """
    return CORRUPTIONS.resolve(query, *args, **kwargs)
