import pytest

from pyocci.model import TERM_PATTERN, Action, Kind, Mixin, split_identifier
from pyocci.model.category import OCCI11_TERM_PATTERN, occi11_term


def test_identifier_is_scheme_plus_term():
    kind = Kind(scheme="http://example.org/occi#", term="thing")
    assert kind.id == "http://example.org/occi#thing"
    assert kind.category_class == "kind"
    assert Mixin(scheme="s#", term="t").category_class == "mixin"
    assert Action(scheme="s#", term="t").category_class == "action"


def test_split_identifier_cuts_after_the_last_hash():
    assert split_identifier("http://a/b#c#term") == ("http://a/b#c#", "term")
    with pytest.raises(ValueError, match="no '#'"):
        split_identifier("http://a/b/term")


def test_a_mixin_without_attributes_and_actions_is_a_tag():
    assert Mixin(scheme="s#", term="t").is_tag
    assert not Mixin(scheme="s#", term="t", actions=("s#a",)).is_tag


@pytest.mark.parametrize("term", ["compute", "0b3c-uuid", "m1.small", "a_b-c"])
def test_relaxed_terms_are_valid(term):
    assert TERM_PATTERN.fullmatch(term)


@pytest.mark.parametrize("term", ["", "-x", "a b", "a/b", "é"])
def test_bad_terms_are_invalid(term):
    assert not TERM_PATTERN.fullmatch(term)


@pytest.mark.parametrize(
    ("name", "term"),
    [
        ("ubuntu-24.04", "ubuntu-24_04"),
        ("Ubuntu 24.04 LTS", "ubuntu_24_04_lts"),
        ("debian-12", "debian-12"),
        ("9front", "x9front"),
        ("-odd", "x-odd"),
        ("", "x"),
        ("Übersicht", "x_bersicht"),
    ],
)
def test_names_become_occi_1_1_terms(name: str, term: str) -> None:
    assert occi11_term(name) == term
    assert OCCI11_TERM_PATTERN.fullmatch(term)
    assert TERM_PATTERN.fullmatch(term)  # and a 1.2 term as well


def test_the_1_1_term_of_a_name_is_always_the_same() -> None:
    assert occi11_term("Rocky 9.4") == occi11_term("Rocky 9.4") == "rocky_9_4"
