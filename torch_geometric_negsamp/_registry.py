r"""Name-based registries (samplers, strategies, encoders, losses): the one
home of name normalisation, so that ``'in-batch'``, ``'in_batch'`` and
``'InBatch'`` name the same thing everywhere."""

from typing import Any, Callable, Dict, Generic, List, Optional, TypeVar

from torch_geometric_negsamp._validate import check_instance

T = TypeVar('T')


def normalize_name(name: str) -> str:
    r"""Lower case, without ``-``, ``_`` or spaces."""
    return name.lower().replace('-', '').replace('_', '').replace(' ', '')


class Registry(Generic[T]):
    r"""Maps normalised names to objects (classes or factories) of one kind.

    Args:
        kind (str): What is registered, for messages (e.g. ``'sampler'``).
        suffix (str, optional): A suffix a query may carry and that is
            ignored (e.g. ``'sampler'``: ``'UniformSampler'`` finds
            ``'uniform'``). (default: :obj:`None`)
        check (callable, optional): Called with each object registered;
            raises if it is not of the right kind. (default: :obj:`None`)
        base (type, optional): The base class of the registered classes:
            registering anything else raises (unless :obj:`check` is
            given), and :meth:`resolve` returns its instances unchanged.
            (default: :obj:`None`)
    """

    def __init__(
        self,
        kind: str,
        suffix: Optional[str] = None,
        check: Optional[Callable[[Any], None]] = None,
        base: Optional[type] = None,
    ):
        self.kind = kind
        self.suffix = None if suffix is None else normalize_name(suffix)
        self.base = base
        if check is None and base is not None:
            check = self._check_subclass
        self._check = check
        self._items: Dict[str, T] = {}

    def _check_subclass(self, value: Any) -> None:
        if not (isinstance(value, type) and issubclass(value, self.base)):
            raise TypeError(
                f'a {self.kind} must be a {self.base.__name__} subclass '
                f'(got {value!r})'
            )

    def register(self, name: str, obj: Optional[T] = None):
        r"""Registers :obj:`obj` under :obj:`name`; without :obj:`obj`,
        returns a decorator."""

        def add(value: T) -> T:
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"'name' must be a non-empty str (got {name!r})"
                )
            if self._check is not None:
                self._check(value)
            key = normalize_name(name)
            if key in self._items and self._items[key] is not value:
                raise ValueError(
                    f'a {self.kind} named {name!r} is already registered '
                    f'({self._items[key]!r})'
                )
            self._items[key] = value
            return value

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> T:
        r"""Removes and returns what :obj:`name` names."""
        key = self.key(name)
        if key is None:
            raise KeyError(name)
        return self._items.pop(key)

    def key(self, name: str) -> Optional[str]:
        r"""The registered key :obj:`name` stands for, or :obj:`None`."""
        if not isinstance(name, str):
            return None
        key = normalize_name(name)
        if (
            key not in self._items
            and self.suffix
            and key.endswith(self.suffix)
        ):
            key = key[: -len(self.suffix)]
        return key if key in self._items else None

    def get(self, name: str, arg: str = 'name') -> T:
        r"""The object registered under :obj:`name`; a :class:`ValueError`
        naming :obj:`arg` and listing the known names otherwise."""
        check_instance(name, arg, str, what=f'a {self.kind} name')
        key = self.key(name)
        if key is None:
            raise ValueError(
                f"'{arg}' names no known {self.kind} (got {name!r}; "
                f'known: {", ".join(self.names())})'
            )
        return self._items[key]

    def resolve(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        r"""An instance from a registered name or a class (instantiated with
        :obj:`*args, **kwargs`), or an instance of :obj:`base` (returned
        as is; arguments are then refused). Needs :obj:`base`."""
        if self.base is None:
            raise TypeError(
                f'the {self.kind} registry has no base class to resolve '
                f'instances of'
            )
        if isinstance(query, self.base):
            if args or kwargs:
                raise ValueError(
                    f'arguments cannot be passed with a {self.kind} '
                    f'instance (got {list(kwargs) or len(args)})'
                )
            return query
        if isinstance(query, type) and issubclass(query, self.base):
            return query(*args, **kwargs)
        if isinstance(query, str):
            return self.get(query, 'query')(*args, **kwargs)
        raise TypeError(
            f"'query' must be a {self.kind} name, class or instance "
            f'(got {type(query).__name__})'
        )

    def names(self) -> List[str]:
        return sorted(self._items)

    def items(self):
        return self._items.items()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.key(name) is not None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f'Registry({self.kind!r}, {self.names()})'
