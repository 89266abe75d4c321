r"""Every public selector class has a contract test (see
``selector_contract.py``); every other public class of the subpackage is a
result type or a helper."""

import importlib
import inspect
from pathlib import Path

from selector_contract import SelectorContract

from torch_geometric_negsamp import select
from torch_geometric_negsamp.select import (
    HardnessSchedule,
    InBatchOutput,
    RecNSOutput,
    Selector,
)

#: Public classes of the subpackage that are results or helpers, not
#: selectors.
RESULT_TYPES = {InBatchOutput, RecNSOutput, HardnessSchedule}


def _contracts():
    for path in sorted(Path(__file__).parent.glob('test_*.py')):
        importlib.import_module(path.stem)
    todo, found = [SelectorContract], []
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__name__.startswith('Test'):
                found.append(sub)
    return found


def _public_classes():
    return [
        obj
        for name in select.__all__
        if inspect.isclass(obj := getattr(select, name))
    ]


def uncovered(classes, contracts):
    r"""The selector classes of :obj:`classes` that no contract tests."""
    covered = {c.selector_class for c in contracts}
    return sorted(
        cls.__name__
        for cls in classes
        if issubclass(cls, Selector)
        and cls is not Selector
        and cls not in covered
    )


def test_every_public_selector_has_a_contract_test():
    contracts = _contracts()
    assert len(contracts) >= 6, 'the contract tests were not found'
    missing = uncovered(_public_classes(), contracts)
    assert not missing, f'selectors without a contract test: {missing}'


def test_every_public_class_is_a_selector_or_a_result():
    odd = [
        cls.__name__
        for cls in _public_classes()
        if not issubclass(cls, Selector) and cls not in RESULT_TYPES
    ]
    assert not odd, f'public classes that are no Selector: {odd}'


def test_the_check_sees_a_selector_without_contract():
    class Unseen(Selector):
        pass

    contracts = _contracts()
    assert uncovered(_public_classes() + [Unseen], contracts) == ['Unseen']
