import math

import pytest

from pyocci.model import AttributeDefinition, AttributeType
from pyocci.model.attribute import attribute_type_from_json


@pytest.mark.parametrize(
    ("definition", "value"),
    [
        (AttributeDefinition(name="a"), "text"),
        (AttributeDefinition(name="a", type=AttributeType.INTEGER), 3),
        (AttributeDefinition(name="a", type=AttributeType.NUMBER), 3),
        (AttributeDefinition(name="a", type=AttributeType.NUMBER), 2.5),
        (AttributeDefinition(name="a", type=AttributeType.BOOLEAN), False),
        (AttributeDefinition(name="a", type=AttributeType.ENUM, enum=("x", "y")), "y"),
        (AttributeDefinition(name="a", type=AttributeType.LIST), [1, "two"]),
        (AttributeDefinition(name="a", type=AttributeType.OBJECT), {"k": "v"}),
        (AttributeDefinition(name="a", pattern=r"[a-z]+"), "abc"),
    ],
)
def test_legal_values_have_no_problem(definition, value):
    assert definition.problem_with(value) is None


@pytest.mark.parametrize(
    ("definition", "value", "says"),
    [
        (AttributeDefinition(name="a"), 3, "must be a string"),
        (AttributeDefinition(name="a", type=AttributeType.INTEGER), 2.5, "must be an integer"),
        (AttributeDefinition(name="a", type=AttributeType.INTEGER), True, "must be an integer"),
        (AttributeDefinition(name="a", type=AttributeType.NUMBER), "2", "must be a number"),
        (AttributeDefinition(name="a", type=AttributeType.NUMBER), math.inf, "finite"),
        (AttributeDefinition(name="a", type=AttributeType.BOOLEAN), "true", "true or false"),
        (
            AttributeDefinition(name="a", type=AttributeType.ENUM, enum=("x", "y")),
            "z",
            "must be one of x, y",
        ),
        (AttributeDefinition(name="a", type=AttributeType.LIST), {"k": 1}, "must be an array"),
        (AttributeDefinition(name="a", type=AttributeType.OBJECT), [1], "must be an object"),
        (AttributeDefinition(name="a", pattern=r"[a-z]+"), "ABC", "must match the pattern"),
    ],
)
def test_illegal_values_are_explained(definition, value, says):
    problem = definition.problem_with(value)
    assert problem is not None
    assert says in problem
    assert problem.startswith("a ")


@pytest.mark.parametrize(
    ("attribute_type", "wire", "expected"),
    [
        (AttributeType.BOOLEAN, "true", True),
        (AttributeType.BOOLEAN, " False ", False),
        (AttributeType.INTEGER, "42", 42),
        (AttributeType.INTEGER, 4.0, 4),
        (AttributeType.NUMBER, "1.5", 1.5),
        (AttributeType.LIST, '[{"protocol": "tcp"}]', [{"protocol": "tcp"}]),
        (AttributeType.OBJECT, '{"k": 1}', {"k": 1}),
    ],
)
def test_coerce_brings_wire_forms_to_the_declared_type(attribute_type, wire, expected):
    coerced = AttributeDefinition(name="a", type=attribute_type).coerce(wire)
    assert coerced == expected
    assert type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("attribute_type", "wire"),
    [
        (AttributeType.BOOLEAN, "yes"),
        (AttributeType.INTEGER, "four"),
        (AttributeType.INTEGER, "inf"),
        (AttributeType.INTEGER, 4.5),
        (AttributeType.NUMBER, "nan"),
        (AttributeType.LIST, '{"not": "a list"}'),
        (AttributeType.OBJECT, "not json"),
        (AttributeType.STRING, 3),
    ],
)
def test_coerce_leaves_unconvertible_values_for_validation_to_report(attribute_type, wire):
    assert AttributeDefinition(name="a", type=attribute_type).coerce(wire) == wire


def test_a_decimal_text_for_an_integer_is_refused_as_the_number_it_is():
    # -a occi.compute.cores=1.5 arrives as text: the message shows the number.
    cores = AttributeDefinition(name="occi.compute.cores", type=AttributeType.INTEGER)
    assert cores.coerce("2.0") == 2
    assert cores.problem_with(cores.coerce("1.5")) == (
        "occi.compute.cores must be an integer, got 1.5"
    )


@pytest.mark.parametrize(
    ("attribute_type", "value", "message"),
    [
        (AttributeType.INTEGER, 1.5, "x.y must be an integer, got 1.5"),
        (AttributeType.INTEGER, "abc", 'x.y must be an integer, got "abc"'),
        (AttributeType.INTEGER, None, "x.y must be an integer, got null"),
        (AttributeType.NUMBER, math.inf, "x.y must be a finite number, got infinity"),
        (AttributeType.NUMBER, {"a": 1}, 'x.y must be a number, got an object {"a": 1}'),
        (AttributeType.STRING, [1, 2], "x.y must be a string, got an array [1, 2]"),
        (AttributeType.BOOLEAN, "yes", 'x.y must be true or false, got "yes"'),
        (AttributeType.LIST, 3, "x.y must be an array, got 3"),
        (AttributeType.OBJECT, True, "x.y must be an object, got true"),
    ],
)
def test_messages_show_values_as_renderings_write_them(attribute_type, value, message):
    assert AttributeDefinition(name="x.y", type=attribute_type).problem_with(value) == message


def test_coerce_maps_legacy_enum_spellings():
    method = AttributeDefinition(
        name="method",
        type=AttributeType.ENUM,
        enum=("hot", "deferred"),
        legacy_values={"deffered": "deferred"},
    )
    assert method.coerce("deffered") == "deferred"
    assert method.coerce("hot") == "hot"


def test_json_types_map_both_ways():
    for attribute_type in AttributeType:
        assert attribute_type_from_json(attribute_type.json_type) is not None
    assert AttributeType.INTEGER.json_type == "number"
    assert AttributeType.ENUM.json_type == "string"
    assert attribute_type_from_json("array") is AttributeType.LIST
    assert attribute_type_from_json("Hash") is AttributeType.OBJECT
    assert attribute_type_from_json("weird") is None


def test_posix_classes_in_patterns_are_understood():
    definition = AttributeDefinition(
        name="occi.core.id", pattern=r"^[[:alnum:]]([[:alnum:]]|-|_)*$"
    )
    assert definition.problem_with("vm-1_a") is None
    assert "must match" in definition.problem_with("-vm")
    assert "must match" in definition.problem_with("vm:1")


def test_a_pattern_python_cannot_compile_constrains_nothing():
    assert AttributeDefinition(name="a", pattern="(unclosed").problem_with("anything") is None
