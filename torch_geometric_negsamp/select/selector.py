r"""The base class of the model-aware selectors: state behind public
methods."""

import itertools
from typing import Any, Dict, Mapping, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp._random import SeededStream, make_generator
from torch_geometric_negsamp._repr import format_repr
from torch_geometric_negsamp._validate import check_same_device, check_seed

_EXTRA = '_extra_state'


class Selector(SeededStream, torch.nn.Module):
    r"""Base class of the model-aware selectors. A selector is a
    :class:`torch.nn.Module` that owns its state and exposes it through
    public methods only:

    * :meth:`to` (and :meth:`cuda`, :meth:`cpu`) moves its tensor state
      (buffers, an index of positives, a sampler). Its random generator
      stays where it lives (the CPU by default) and drives draws on any
      device, so that a seeded selector draws the same stream on every
      device. A selector without tensor state (:attr:`device` is
      :obj:`None`) follows its inputs; the others refuse inputs that live
      on another device.
    * :meth:`reseed` restarts its random stream, and
      :meth:`get_generator` gives the generator of the current process
      (:class:`~torch_geometric_negsamp._random.SeededStream`: a copy in a
      :class:`~torch.utils.data.DataLoader` worker draws a stream of its
      own).
    * :meth:`state_dict` / :meth:`load_state_dict` carry the buffers, the
      parameters (of a selector that learns, e.g. :class:`DENS`) and the
      generator's state; a load checks every entry before it changes
      anything, so that a bad state dict leaves the selector as it was.

    A subclass that draws random numbers sets :attr:`stochastic` and passes
    its :obj:`seed` and :obj:`generator` to :meth:`__init__`.

    Args:
        seed (int, optional): Seed of the selector's own generator.
            (default: :obj:`None`)
        generator (torch.Generator, optional): A generator instead; without
            either, draws use PyTorch's global generator.
            (default: :obj:`None`)
    """

    #: Whether the selector draws random numbers (and owns a generator).
    stochastic: bool = False

    def __init__(
        self,
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__()
        make_generator(seed, generator)  # checks them
        if (seed is not None or generator is not None) and not self.stochastic:
            raise ValueError(
                f'{self.__class__.__name__} draws nothing at random; it '
                f"takes no 'seed' or 'generator'"
            )
        self.seed = None if seed is None else check_seed(seed)
        self.generator = generator

    # -------------------------------------------------------------- device
    @property
    def device(self) -> Optional[torch.device]:
        r"""Where the selector's tensor state (buffers and parameters)
        lives; :obj:`None` when it holds none and follows its inputs."""
        for tensor in itertools.chain(self.buffers(), self.parameters()):
            return tensor.device
        return None

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)
        self._move_state(fn)
        return out

    def _move_state(self, fn) -> None:
        r"""Moves state that is not a buffer the way :obj:`fn` moves
        tensors (see :meth:`_target_device`)."""

    @staticmethod
    def _target_device(fn, device) -> torch.device:
        # Module.to / cuda / cpu hand _apply a tensor function, not a
        # device: ask it where it sends an (empty) integer tensor.
        probe = torch.empty(0, dtype=torch.long, device=device)
        return fn(probe).device

    def _check_devices(self, **tensors: Optional[Tensor]) -> None:
        r"""Every given tensor lives where the selector's state lives (or,
        without state, where the first of them lives)."""
        device, owner = self.device, f'the {self.__class__.__name__}'
        for name, value in tensors.items():
            if value is None:
                continue
            if device is None:
                device, owner = value.device, f"'{name}'"
            else:
                check_same_device(value, name, device, owner)

    # ---------------------------------------------------------- randomness
    def reseed(self, seed: int) -> 'Selector':
        r"""Restarts the random stream from :obj:`seed`; a selector that
        draws nothing only checks :obj:`seed`."""
        seed = check_seed(seed)
        return super().reseed(seed) if self.stochastic else self

    # ---------------------------------------------------------------- state
    def get_extra_state(self) -> Dict[str, Any]:
        generator = self.get_generator() if self.stochastic else None
        if generator is None:
            return {}
        return {
            'generator': generator.get_state(),
            'generator_device': str(generator.device),
        }

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        self.seed, self.generator = None, self._generator_from(state)
        self._worker_key = None

    def _generator_from(self, state: Any) -> Optional[torch.Generator]:
        name = f"'state_dict' entry {_EXTRA!r}"
        if not isinstance(state, Mapping) or not set(state) <= {
            'generator',
            'generator_device',
        }:
            raise ValueError(
                f'{name} must be a dict with the keys generator and '
                f'generator_device (got {state!r:.80})'
            )
        if 'generator' not in state:
            return None
        if not self.stochastic:
            raise ValueError(
                f'{name} holds a generator, but {self.__class__.__name__} '
                f'draws nothing at random'
            )
        value, device = state['generator'], state.get('generator_device')
        if not isinstance(value, Tensor) or value.dtype != torch.uint8:
            raise ValueError(
                f'{name} must hold the generator state as a uint8 tensor '
                f'(got {getattr(value, "dtype", type(value).__name__)})'
            )
        try:
            generator = torch.Generator(device=device)
            generator.set_state(value)
        except (RuntimeError, TypeError, ValueError) as error:
            raise ValueError(
                f'{name} holds a generator state that does not load on '
                f'{device!r}: {error}'
            ) from None
        return generator

    def _check_buffer(self, name: str, value: Tensor, buffer: Tensor):
        r"""Checks a loaded buffer against the current one (same shape and
        kind of dtype); subclasses with buffers of varying size override
        it."""
        if value.shape != buffer.shape:
            raise ValueError(
                f"'state_dict' entry {name!r} must have shape "
                f'{list(buffer.shape)} (got {list(value.shape)})'
            )
        if value.is_floating_point() != buffer.is_floating_point():
            raise ValueError(
                f"'state_dict' entry {name!r} must have a dtype like "
                f'{buffer.dtype} (got {value.dtype})'
            )

    def _check_state(self, state: Dict[str, Any]) -> None:
        r"""Checks the values of a loaded state (e.g. ids in range) before
        anything changes; the keys, shapes and generator are checked
        already."""

    def _prepare_load(self, state: Dict[str, Any]) -> None:
        r"""Runs after every check and before the buffers are copied."""

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, *lists
    ):
        # *lists: torch's missing_keys, unexpected_keys, error_msgs
        own = {
            key[len(prefix) :]: value
            for key, value in state_dict.items()
            if key.startswith(prefix) and '.' not in key[len(prefix) :]
        }
        # The selector's own tensors: its parameters (e.g. DENS's gates)
        # and persistent buffers.
        buffers = {
            name: tensor
            for name, tensor in itertools.chain(
                self._parameters.items(), self._buffers.items()
            )
            if tensor is not None
            and name not in self._non_persistent_buffers_set
        }
        cls = self.__class__.__name__
        for name, buffer in buffers.items():
            if name not in own:
                if strict:
                    raise ValueError(
                        f"'state_dict' lacks the entry {name!r} of the "
                        f'{cls} (got {sorted(own)})'
                    )
                continue
            if not isinstance(own[name], Tensor):
                raise TypeError(
                    f"'state_dict' entry {name!r} must be a tensor (got "
                    f'{type(own[name]).__name__})'
                )
            self._check_buffer(name, own[name], buffer)
        if strict:
            unknown = sorted(set(own) - set(buffers) - {_EXTRA})
            if unknown or _EXTRA not in own:
                raise ValueError(
                    f"'state_dict' must hold the entries "
                    f'{sorted(set(buffers) | {_EXTRA})} of the {cls} '
                    f'(got {sorted(own)})'
                )
        if _EXTRA in own:
            self._generator_from(own[_EXTRA])
        self._check_state(own)
        self._prepare_load(own)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, *lists
        )

    def __repr__(self) -> str:
        return format_repr(self, self.extra_repr())
