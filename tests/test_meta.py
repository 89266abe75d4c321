r"""Meta-tests: every public sampler, transform and selector has a test."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import torch_geometric_negsamp
from torch_geometric_negsamp.sampler import SAMPLERS, NegativeSampler

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


def test_every_sampler_class_has_a_test():
    sources = _test_sources()
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
    missing = sorted(c.__name__ for c in classes if c.__name__ not in sources)
    assert not missing, f'sampler classes without a test: {missing}'


def test_every_registered_sampler_is_exported_and_tested():
    sources = _test_sources()
    for key, cls in SAMPLERS.items():
        assert cls.__name__ in sources, f'{key} ({cls.__name__}) untested'
        assert f"'{key}'" in sources or cls.__name__ in sources


def test_every_public_name_is_documented():
    docs = Path(__file__).parent.parent / 'docs'
    text = '\n'.join(p.read_text() for p in docs.rglob('*.md'))
    missing = [
        name
        for name in torch_geometric_negsamp.__all__
        if not name.startswith('__') and name not in text
    ]
    assert not missing, f'public names missing from docs/: {missing}'
