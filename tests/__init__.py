"""The tests, a package so that its modules import each other by name (`tests.helpers`)."""

import pytest

# The helpers assert too: rewritten as test modules are, their failures show both sides.
pytest.register_assert_rewrite("tests.helpers")
