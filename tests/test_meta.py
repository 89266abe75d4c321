r"""Meta-tests: every public sampler, transform and selector has a test."""

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


def test_every_public_name_is_documented():
    docs = Path(__file__).parent.parent / 'docs'
    text = '\n'.join(p.read_text() for p in docs.rglob('*.md'))
    missing = [
        name
        for name in torch_geometric_negsamp.__all__
        if not name.startswith('__') and name not in text
    ]
    assert not missing, f'public names missing from docs/: {missing}'
