r"""Name-based lookup of samplers, so that a sampler can be given as a
string, a class or an instance."""

from typing import Any, Type, Union

from torch_geometric_negsamp._registry import Registry
from torch_geometric_negsamp.sampler.base import NegativeSampler


def _check_sampler_class(cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, NegativeSampler)):
        raise TypeError(
            "'register_sampler' needs a NegativeSampler subclass "
            f'(got {cls!r})'
        )


#: The registered samplers, by normalised name.
SAMPLERS: Registry[Type[NegativeSampler]] = Registry(
    'sampler',
    suffix='sampler',
    check=_check_sampler_class,
    base=NegativeSampler,
)


def register_sampler(name: str):
    r"""Class decorator that registers a sampler under :obj:`name`, so that
    :func:`resolve_sampler` and the training command can find it."""
    return SAMPLERS.register(name)


def resolve_sampler(
    query: Union[str, Type[NegativeSampler], NegativeSampler],
    *args: Any,
    **kwargs: Any,
) -> NegativeSampler:
    r"""Returns a sampler from a registered name (:obj:`"uniform"`,
    :obj:`"popularity"`, ...; case, :obj:`-` and :obj:`_` ignored, a
    trailing :obj:`"sampler"` allowed), a class (instantiated with
    :obj:`*args, **kwargs`) or an instance (returned as is).

    Example:
        >>> resolve_sampler('popularity', amount=4, alpha=0.5)
        PopularitySampler(mode='triplet', amount=4, alpha=0.5, ...)
    """
    return SAMPLERS.resolve(query, *args, **kwargs)
