import pytest

from pyocci.rendering.negotiation import (
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    media_type_of,
    negotiate,
    occi_version,
    parse_accept,
    prefers_html,
)

OFFERED = [TEXT_PLAIN, TEXT_OCCI, OCCI_JSON, URI_LIST]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT_PLAIN),
        ("", TEXT_PLAIN),
        ("*/*", TEXT_PLAIN),
        ("application/occi+json", OCCI_JSON),
        ("application/*", OCCI_JSON),
        ("text/*", TEXT_PLAIN),
        ("text/occi", TEXT_OCCI),
        ("TEXT/OCCI", TEXT_OCCI),
        # rOCCI-cli 4
        ("text/plain,text/occi;q=0.2", TEXT_PLAIN),
        ("text/plain;q=0.1, application/occi+json", OCCI_JSON),
        ("application/occi+json;q=0.5, */*;q=0.1", OCCI_JSON),
        ("text/*;q=0.3, text/uri-list", URI_LIST),
        ("*/*;q=0.8, text/plain;q=0", TEXT_OCCI),
        ('text/plain; charset="utf,8"; q=0.5, text/occi; q=0.4', TEXT_PLAIN),
        ("garbage, text/occi", TEXT_OCCI),
    ],
)
def test_negotiate(accept, expected):
    assert negotiate(accept, OFFERED) == expected


@pytest.mark.parametrize("accept", ["image/png", "text/plain;q=0", "application/xml, image/*"])
def test_nothing_acceptable_means_none(accept):
    assert negotiate(accept, OFFERED) is None


def test_the_default_can_be_changed():
    assert negotiate("*/*", OFFERED, default=OCCI_JSON) == OCCI_JSON
    assert negotiate(None, [OCCI_JSON, TEXT_PLAIN], default=OCCI_JSON) == OCCI_JSON


def test_a_specific_range_overrides_a_wildcard_for_its_type():
    ranges = parse_accept("text/*;q=0.9, text/occi;q=0.1")
    assert [(r.type, r.subtype, r.quality) for r in ranges] == [
        ("text", "*", 0.9),
        ("text", "occi", 0.1),
    ]
    assert negotiate("text/*;q=0.9, text/plain;q=0.1", [TEXT_PLAIN, TEXT_OCCI]) == TEXT_OCCI


@pytest.mark.parametrize(
    ("header", "expected"),
    [("q=abc", 0.0), ("q=2", 1.0), ("q=-1", 0.0)],
)
def test_odd_q_values_are_clamped(header, expected):
    assert parse_accept(f"text/plain;{header}")[0].quality == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/occi+json; charset=utf-8", OCCI_JSON),
        ("Text/Plain", TEXT_PLAIN),
        ("", None),
        (None, None),
        (";", None),
    ],
)
def test_media_type_of(content_type, expected):
    assert media_type_of(content_type) == expected


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("rOCCI-cli OCCI/1.1", (1, 1)),
        ("pyocci/0.1 OCCI/1.2", (1, 2)),
        ("rOCCI-server OCCI/1.1 OCCI-CRTP/1.0 OCCI/1.2 OCCI-CRTP/1.1", (1, 2)),
        ("curl/8.0", None),
        (None, None),
        ("OCCI/" + "9" * 5000 + ".1", None),
        ("OCCI/1." + "1" * 10, None),
        ("x OCCI/1." + "1" * 10 + " OCCI/1.1", (1, 1)),
    ],
)
def test_occi_version(user_agent, expected):
    assert occi_version(user_agent) == expected


#: The Accept headers of browsers as they navigate.
CHROMIUM = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (CHROMIUM, True),
        (FIREFOX, True),
        ("text/html", True),
        ("text/html;q=0.9, text/plain;q=0.5", True),
        # API clients: no Accept, curl's, rOCCI-cli's, an OCCI type, wildcards.
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/*", False),
        ("text/plain,text/occi;q=0.2", False),
        ("application/occi+json", False),
        # A tie goes to the OCCI rendering; so does a lower q for html.
        ("text/plain, text/html", False),
        ("application/occi+json, text/html", False),
        ("text/html;q=0.5, application/occi+json", False),
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept, html):
    assert prefers_html(accept, OFFERED) is html
