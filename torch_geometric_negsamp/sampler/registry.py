r"""Name-based lookup of samplers, so that a sampler can be given as a
string, a class or an instance."""

from typing import Any, Dict, Type, Union

from torch_geometric_negsamp.sampler.base import NegativeSampler

SAMPLERS: Dict[str, Type[NegativeSampler]] = {}


def _normalize(name: str) -> str:
    return name.lower().replace('-', '').replace('_', '')


def register_sampler(name: str):
    r"""Class decorator that registers a sampler under :obj:`name`, so that
    :func:`resolve_sampler` and the training command can find it."""

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, NegativeSampler)):
            raise TypeError(
                f"'register_sampler' needs a NegativeSampler "
                f'subclass (got {cls!r})'
            )
        key = _normalize(name)
        if key in SAMPLERS and SAMPLERS[key] is not cls:
            raise ValueError(
                f'a sampler named {name!r} is already '
                f'registered ({SAMPLERS[key].__name__})'
            )
        SAMPLERS[key] = cls
        return cls

    return decorator


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
    if isinstance(query, NegativeSampler):
        if args or kwargs:
            raise ValueError(
                'arguments cannot be passed with a sampler '
                'instance (got '
                f'{list(kwargs) or len(args)})'
            )
        return query
    if isinstance(query, type) and issubclass(query, NegativeSampler):
        return query(*args, **kwargs)
    if isinstance(query, str):
        key = _normalize(query)
        if key not in SAMPLERS and key.endswith('sampler'):
            key = key[: -len('sampler')]
        if key not in SAMPLERS:
            raise ValueError(
                f'unknown sampler {query!r}; registered: {sorted(SAMPLERS)}'
            )
        return SAMPLERS[key](*args, **kwargs)
    raise TypeError(
        f"'query' must be a sampler name, class or instance "
        f'(got {type(query).__name__})'
    )
