r"""Meta-tests: every public sampler keeps the contract and is registered;
every public name has a docstring and every subpackage an API page."""

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import torch_geometric_negsamp
from torch_geometric_negsamp.sampler import (
    SAMPLERS,
    NegativeSampler,
    WeightedSampler,
)

TESTS = Path(__file__).parent


def _all_modules():
    for info in pkgutil.walk_packages(
        torch_geometric_negsamp.__path__, 'torch_geometric_negsamp.'
    ):
        if info.name.endswith('__main__'):
            continue
        yield importlib.import_module(info.name)


def _test_sources() -> str:
    return '\n'.join(
        p.read_text()
        for p in TESTS.rglob('test_*.py')
        if p.name != 'test_meta.py'
    )


def _sampler_contracts():
    sys.path.insert(0, str(TESTS / 'sampler'))
    try:
        from sampler_contract import CONTRACTS

        for path in sorted((TESTS / 'sampler').glob('test_*.py')):
            importlib.import_module(path.stem)  # defines the subclasses
    finally:
        sys.path.pop(0)
    return CONTRACTS


#: Public sampler classes that are bases, not samplers one can fit.
ABSTRACT = {NegativeSampler, WeightedSampler}


def test_every_sampler_class_keeps_the_contract():
    covered = {c.sampler_cls for c in _sampler_contracts()}
    classes = set()
    for module in _all_modules():
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, NegativeSampler)
                and obj.__module__.startswith('torch_geometric_negsamp')
                and not name.startswith('_')
            ):
                classes.add(obj)
    assert classes, 'no sampler class found: the walk is broken'
    missing = sorted(c.__name__ for c in classes - ABSTRACT - covered)
    assert not missing, (
        f'sampler classes without a SamplerContract test: {missing}'
    )
    unregistered = sorted(
        c.__name__
        for c in classes - ABSTRACT
        if c not in {cls for _, cls in SAMPLERS.items()}
    )
    assert not unregistered, f'samplers not in the registry: {unregistered}'


def test_every_public_name_has_a_docstring():
    # The API reference (docs/api/, built by .ci/run with warnings as
    # errors) is generated from these docstrings: a public name without one
    # would have an empty page.
    undocumented = []
    for module in _all_modules():
        for name in getattr(module, '__all__', ()):
            obj = getattr(module, name)
            if callable(obj) and not inspect.getdoc(obj):
                undocumented.append(f'{module.__name__}.{name}')
    assert not undocumented, (
        f'public names without a docstring: {undocumented}'
    )


def test_every_subpackage_has_an_api_page():
    pages = '\n'.join(
        p.read_text() for p in (TESTS.parent / 'docs' / 'api').glob('*.rst')
    )
    packages = {
        m.__name__
        for m in _all_modules()
        if hasattr(m, '__path__') and '._' not in m.__name__
    }
    assert len(packages) > 5, 'the walk found too few subpackages'
    missing = sorted(
        p for p in packages if f'automodule:: {p}\n' not in pages + '\n'
    )
    assert not missing, f'subpackages without an automodule page: {missing}'
