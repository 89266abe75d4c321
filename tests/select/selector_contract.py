r"""The contract every selector keeps, as a test case to inherit.

A new selector gets the whole battery by subclassing :class:`SelectorContract`
in its test module as ``class Test<Name>Contract(SelectorContract)``, setting
:attr:`selector_class` and writing :meth:`make`, :meth:`inputs`,
:meth:`call` and :meth:`expected_shapes` (and, where they apply,
:meth:`check_outputs`, :meth:`bad_calls`, :meth:`bad_constructions` and
:meth:`bad_states`). ``test_selector_contracts.py`` fails for a public
selector class without such a subclass.

The battery: output shapes (and what :meth:`check_outputs` verifies),
determinism under a seed or a generator, distinct streams for distinct seeds,
:meth:`~Selector.reseed`, the :meth:`~Selector.state_dict` round trip through
``torch.save`` / ``torch.load(weights_only=True)``, :meth:`~Selector.to`,
CUDA against CPU (where a GPU is present), and every bad input: constructor
arguments, call arguments (the generic ones are derived from
:meth:`inputs`: a list instead of a tensor, a meta tensor, the wrong dtype,
NaN and infinities, ids of -1 and ids at their bound) and state dicts. Each
error must be a :class:`TypeError` or :class:`ValueError` naming the
argument, raised before the selector's state changed.
"""

import copy
import io
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import pytest
import torch
from torch import Tensor

from torch_geometric_negsamp.select import Selector

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device')


class Bad(NamedTuple):
    r"""A bad input: :obj:`apply` turns the valid inputs (or constructor
    arguments, or state dict) into bad ones; the call must raise
    :obj:`error` matching :obj:`match`."""

    what: str
    apply: Callable[[Any], Any]
    error: type
    match: str


def _fill(value: float) -> Callable[[Tensor], Tensor]:
    return lambda t: torch.full_like(t, value)


def _set_first(value: int) -> Callable[[Tensor], Tensor]:
    def apply(t: Tensor) -> Tensor:
        t = t.clone()
        t.view(-1)[0] = value
        return t

    return apply


def _replace(name: str, fn: Callable[[Any], Any]):
    return lambda inputs: {**inputs, name: fn(inputs[name])}


def snapshot(value: Any) -> Any:
    r"""A deep copy of a state dict (tensors cloned)."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: snapshot(v) for key, v in value.items()}
    return copy.deepcopy(value)


def same(a: Any, b: Any, exact: bool = True) -> bool:
    r"""Equal outputs or states: tensors equal (integer tensors always
    exactly, floating ones up to rounding unless :obj:`exact`), on any
    device."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return False
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if exact or not a.is_floating_point():
            return torch.equal(a, b)
        return torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return False
        return a.keys() == b.keys() and all(same(a[k], b[k], exact) for k in a)
    if isinstance(a, (tuple, list)):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return all(same(x, y, exact) for x, y in zip(a, b))
    return a == b


class SelectorContract:
    r"""The battery of tests every selector passes; see the module's
    docstring."""

    #: The selector class under test.
    selector_class: type = Selector
    #: Integer id inputs and the bound their ids must stay below
    #: (:obj:`None`: only non-negative).
    id_bounds: Dict[str, Optional[int]] = {}
    #: The argument an error names for an input, where it differs (e.g. the
    #: scores of a :obj:`score_fn`).
    error_names: Dict[str, str] = {}
    #: Inputs for which a list or a meta tensor is a meaningful bad input
    #: (:obj:`None`: every tensor input).
    tensor_inputs: Optional[List[str]] = None
    #: Text :func:`repr` must show.
    repr_contains: Tuple[str, ...] = ()

    # ------------------------------------------------ what a subclass writes
    def make(self, **kwargs) -> Selector:
        r"""A selector; :obj:`kwargs` are :obj:`seed` or :obj:`generator`
        (only for a stochastic selector)."""
        raise NotImplementedError

    def inputs(self, device: str = 'cpu') -> Dict[str, Any]:
        r"""Valid keyword inputs of :meth:`call`, on :obj:`device`."""
        raise NotImplementedError

    def call(self, selector: Selector, **inputs) -> Any:
        r"""Runs the selector's main public method(s) on :obj:`inputs`."""
        raise NotImplementedError

    def expected_shapes(self, inputs: Dict[str, Any]) -> List[tuple]:
        raise NotImplementedError

    def check_outputs(self, selector, inputs, outputs) -> None:
        r"""Checks what the outputs must be beyond their shapes;
        :obj:`selector` is a fresh twin of the one that produced them."""

    def bad_calls(self) -> List[Bad]:
        r"""Bad inputs particular to the selector (:obj:`apply` maps the
        valid inputs)."""
        return []

    def bad_constructions(self) -> List[Bad]:
        r"""Bad constructor arguments (:obj:`apply` is called with no
        argument and builds the selector)."""
        return []

    def bad_states(self) -> List[Bad]:
        r"""Bad state dicts particular to the selector (:obj:`apply` maps a
        valid state dict)."""
        return []

    def prepare_resume(self, source: Selector, target: Selector) -> None:
        r"""Brings what the selector does not own (e.g. a sampler's stream)
        to the same point in :obj:`source` and :obj:`target`."""

    # ---------------------------------------------------------- machinery
    @property
    def stochastic(self) -> bool:
        return self.selector_class.stochastic

    def seeded(self, seed: int) -> Selector:
        return self.make(seed=seed) if self.stochastic else self.make()

    def run(self, selector: Selector, inputs: Dict[str, Any]) -> tuple:
        out = self.call(selector, **inputs)
        return out if isinstance(out, tuple) else (out,)

    def all_bad_calls(self) -> List[Bad]:
        inputs = self.inputs()
        cases = []
        names = self.tensor_inputs
        for name, value in inputs.items():
            if not isinstance(value, Tensor):
                continue
            said = self.error_names.get(name, name)
            if names is None or name in names:
                cases += [
                    Bad(
                        f'{name}-as-list',
                        _replace(name, lambda t: t.tolist()),
                        TypeError,
                        f"'{said}'",
                    ),
                    Bad(
                        f'{name}-on-meta',
                        _replace(name, lambda t: t.to('meta')),
                        ValueError,
                        f"'{said}'",
                    ),
                ]
            if value.is_floating_point():
                cases.append(
                    Bad(
                        f'{name}-as-ids',
                        _replace(name, lambda t: t.long()),
                        TypeError,
                        f"'{said}'",
                    )
                )
                for fill in (float('nan'), float('inf'), float('-inf')):
                    cases.append(
                        Bad(
                            f'{name}-{fill}',
                            _replace(name, _fill(fill)),
                            ValueError,
                            f"'{said}' must .*finite",
                        )
                    )
            else:
                cases.append(
                    Bad(
                        f'{name}-as-floats',
                        _replace(name, lambda t: t.double()),
                        TypeError,
                        f"'{said}'",
                    )
                )
                bad_ids = [-1]
                if self.id_bounds.get(name) is not None:
                    bad_ids.append(self.id_bounds[name])
                for bad in bad_ids:
                    cases.append(
                        Bad(
                            f'{name}-id-{bad}',
                            _replace(name, _set_first(bad)),
                            ValueError,
                            f"'{said}' holds .*{bad}",
                        )
                    )
        return cases + self.bad_calls()

    def all_bad_constructions(self) -> List[Bad]:
        cases = list(self.bad_constructions())
        if self.stochastic:
            cases += [
                Bad(
                    'seed-str',
                    lambda: self.make(seed='1'),
                    TypeError,
                    "'seed'",
                ),
                Bad(
                    'seed-too-large',
                    lambda: self.make(seed=2**70),
                    ValueError,
                    "'seed'",
                ),
                Bad(
                    'seed-and-generator',
                    lambda: self.make(seed=1, generator=torch.Generator()),
                    ValueError,
                    "'seed' and 'generator'",
                ),
                Bad(
                    'generator-int',
                    lambda: self.make(generator=3),
                    TypeError,
                    "'generator'",
                ),
            ]
        return cases

    def all_bad_states(self) -> List[Bad]:
        def drop_first(state):
            return {k: v for i, (k, v) in enumerate(state.items()) if i}

        cases = [
            Bad('missing-entry', drop_first, ValueError, "'state_dict'"),
            Bad(
                'unknown-entry',
                lambda s: {**s, 'bogus': torch.zeros(1)},
                ValueError,
                "'state_dict'",
            ),
            Bad(
                'extra-state-not-a-dict',
                lambda s: {**s, '_extra_state': 3},
                ValueError,
                "'state_dict'",
            ),
        ]
        for name, buffer in self.seeded(0).state_dict().items():
            if isinstance(buffer, Tensor):
                cases.append(
                    Bad(
                        f'{name}-not-a-tensor',
                        _replace(name, lambda t: t.tolist()),
                        TypeError,
                        "'state_dict'",
                    )
                )
                cases.append(
                    Bad(
                        f'{name}-wrong-shape',
                        _replace(
                            name, lambda t: torch.zeros(7, 7, 7, dtype=t.dtype)
                        ),
                        ValueError,
                        "'state_dict",
                    )
                )
        if self.stochastic:
            cases += [
                Bad(
                    'generator-state-garbage',
                    _replace(
                        '_extra_state',
                        lambda e: {
                            **e,
                            'generator': torch.zeros(3, dtype=torch.uint8),
                        },
                    ),
                    ValueError,
                    "'state_dict'",
                ),
                Bad(
                    'generator-state-not-bytes',
                    _replace(
                        '_extra_state',
                        lambda e: {**e, 'generator': e['generator'].long()},
                    ),
                    ValueError,
                    "'state_dict'",
                ),
            ]
        return cases + self.bad_states()

    # -------------------------------------------------------------- tests
    def test_is_a_selector_module(self):
        selector = self.seeded(0)
        assert type(selector) is self.selector_class
        assert isinstance(selector, Selector)
        assert isinstance(selector, torch.nn.Module)

    def test_output_shapes_and_values(self):
        selector, inputs = self.seeded(0), self.inputs()
        outputs = self.run(selector, inputs)
        shapes = [tuple(o.shape) for o in outputs if o is not None]
        assert shapes == [tuple(s) for s in self.expected_shapes(inputs)]
        self.check_outputs(self.seeded(0), inputs, outputs)

    def test_same_seed_same_stream(self):
        inputs = self.inputs()
        a, b = self.seeded(1), self.seeded(1)
        for _ in range(3):
            assert same(self.run(a, inputs), self.run(b, inputs))
        if self.stochastic:
            c = self.make(generator=torch.Generator().manual_seed(1))
            assert same(self.run(self.seeded(1), inputs), self.run(c, inputs))

    def test_distinct_seeds_distinct_streams(self):
        if not self.stochastic:
            pytest.skip('draws nothing at random')
        inputs = self.inputs()
        first = self.run(self.seeded(0), inputs)
        assert any(
            not same(first, self.run(self.seeded(seed), inputs))
            for seed in range(1, 6)
        )

    def test_reseed_restarts_the_stream(self):
        inputs = self.inputs()
        selector = self.seeded(3)
        self.run(selector, inputs)
        self.run(selector, inputs)
        assert selector.reseed(4) is selector
        if self.stochastic:
            expected = torch.Generator().manual_seed(4).get_state()
            assert torch.equal(selector.get_generator().get_state(), expected)
        if not list(selector.buffers()):
            # Without state of its own, the selector is then a fresh one:
            assert same(
                self.run(selector, inputs), self.run(self.seeded(4), inputs)
            )
        with pytest.raises(TypeError, match="'seed'"):
            selector.reseed('3')
        with pytest.raises(ValueError, match="'seed'"):
            selector.reseed(2**64)

    def test_state_dict_round_trip(self):
        inputs = self.inputs()
        source = self.seeded(5)
        self.run(source, inputs)
        buffer = io.BytesIO()
        torch.save(source.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
        target = self.seeded(6)
        self.prepare_resume(source, target)
        target.load_state_dict(state)
        assert same(target.state_dict(), source.state_dict())
        for _ in range(2):
            assert same(self.run(source, inputs), self.run(target, inputs))

    def test_bad_state_dict_changes_nothing(self):
        selector = self.seeded(7)
        self.run(selector, self.inputs())
        valid = snapshot(selector.state_dict())
        for bad in self.all_bad_states():
            with pytest.raises(bad.error, match=bad.match):
                selector.load_state_dict(bad.apply(snapshot(valid)))
            assert same(selector.state_dict(), valid), bad.what

    def test_to_moves_the_state_and_returns_self(self):
        selector = self.seeded(0)
        assert selector.to('cpu') is selector
        assert selector.cpu() is selector
        assert all(b.device.type == 'cpu' for b in selector.buffers())
        assert selector.device in (None, torch.device('cpu'))
        self.run(selector, self.inputs())

    @needs_cuda
    def test_cuda_matches_cpu(self):
        cpu, gpu = self.seeded(0), self.seeded(0).to('cuda')
        self.prepare_resume(cpu, gpu)
        assert all(b.device.type == 'cuda' for b in gpu.buffers())
        assert gpu.device is None or gpu.device.type == 'cuda'
        expected = self.run(cpu, self.inputs())
        got = self.run(gpu, self.inputs('cuda'))
        assert all(o.device.type == 'cuda' for o in got if o is not None)
        assert same(expected, got, exact=False)
        # and back: the state moves with the selector
        state = gpu.state_dict()
        assert same(gpu.cpu().state_dict(), state, exact=False)

    @needs_cuda
    def test_inputs_on_another_device_are_refused(self):
        selector = self.seeded(0)
        inputs = self.inputs()
        tensors = [k for k, v in inputs.items() if isinstance(v, Tensor)]
        if selector.device is None and len(tensors) < 2:
            pytest.skip('one input and no state: nothing to disagree with')
        inputs[tensors[0]] = inputs[tensors[0]].to('cuda')
        before = snapshot(selector.state_dict())
        with pytest.raises(ValueError, match='is on'):
            self.run(selector, inputs)
        assert same(selector.state_dict(), before)

    def test_bad_constructor_arguments(self):
        cases = self.all_bad_constructions()
        for bad in cases:
            with pytest.raises(bad.error, match=bad.match):
                bad.apply()

    def test_bad_inputs_raise_before_any_work(self, bad_call):
        selector = self.seeded(9)
        self.run(selector, self.inputs())
        before = snapshot(selector.state_dict())
        with pytest.raises(bad_call.error, match=bad_call.match):
            self.run(selector, bad_call.apply(self.inputs()))
        assert same(selector.state_dict(), before), 'the state changed'
        # and the selector still works as before:
        twin = self.seeded(9)
        self.run(twin, self.inputs())
        self.prepare_resume(twin, selector)
        assert same(
            self.run(selector, self.inputs()), self.run(twin, self.inputs())
        )

    def test_repr(self):
        text = repr(self.seeded(0))
        assert text.startswith(self.selector_class.__name__ + '(')
        assert '\n' not in text
        for part in self.repr_contains:
            assert part in text, (part, text)


def pytest_generate_tests(metafunc) -> None:
    r"""One test per bad input of a contract (imported by the
    ``conftest.py`` beside this file)."""
    cls = metafunc.cls
    if (
        cls is not None
        and issubclass(cls, SelectorContract)
        and 'bad_call' in metafunc.fixturenames
    ):
        cases = cls().all_bad_calls()
        metafunc.parametrize('bad_call', cases, ids=[c.what for c in cases])
