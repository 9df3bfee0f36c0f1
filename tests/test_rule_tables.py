"""Rule tables keyed by op names are checked against the op registry when they are made, so a
misspelt op name fails at import instead of silently never matching."""

import pytest

from compiler.opdef import REGISTRY
from compiler.passes import simplify, stabilize
from compiler.rule_tables import UnknownOpError, checked


def test_a_typo_is_named_with_its_table():
    with pytest.raises(UnknownOpError) as info:
        checked({"add": 1, "mutliply": 2, "sigmod": 3}, "mymodule.RULES")
    message = str(info.value)
    assert "'mutliply'" in message and "'sigmod'" in message and "mymodule.RULES" in message
    assert "'add'" not in message


def test_sets_of_names_are_checked_too():
    with pytest.raises(UnknownOpError, match="'reshap'"):
        checked(frozenset({"reshape", "reshap"}), "mymodule.RESHAPES")


def test_a_correct_table_is_returned_as_it_is():
    table = {"add": [1], "multiply": [2]}
    assert checked(table, "mymodule.RULES") is table


@pytest.mark.parametrize("table", [simplify.RULES, simplify.RESHAPES, stabilize.LOG_OF],
                         ids=["simplify.RULES", "simplify.RESHAPES", "stabilize.LOG_OF"])
def test_every_real_table_names_registered_ops(table):
    assert table, "empty table"
    assert set(table) <= set(REGISTRY), sorted(set(table) - set(REGISTRY))
