# The selector contract's bad inputs become one test each:
from selector_contract import pytest_generate_tests  # noqa: F401
