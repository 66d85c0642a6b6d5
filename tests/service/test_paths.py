import pytest

from pyocci.model import Mixin, Model, standard_model
from pyocci.service.paths import Collection, EntityPath, QueryInterface, resolve

INFRA = "http://schemas.ogf.org/occi/infrastructure#"


@pytest.fixture(scope="module")
def model() -> Model:
    tenant = Model(base=standard_model())
    tenant.add_user_mixin(
        Mixin(scheme="http://example.org/joe#", term="web", location="/users/joe/web/")
    )
    return tenant


@pytest.mark.parametrize(
    "path", ["/-/", "/-", "/.well-known/org/ogf/occi/-/", "/.well-known/org/ogf/occi/-"]
)
def test_the_query_interface(model, path):
    assert resolve(model, path) == QueryInterface()


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("/compute/", INFRA + "compute"),
        ("/compute", INFRA + "compute"),
        ("/mixin/os_tpl/", INFRA + "os_tpl"),
        ("/users/joe/web/", "http://example.org/joe#web"),
        ("/", "http://schemas.ogf.org/occi/core#entity"),
    ],
)
def test_collections(model, path, category):
    target = resolve(model, path)
    assert isinstance(target, Collection)
    assert target.category.id == category


def test_entities_live_under_their_kind_location(model):
    target = resolve(model, "/compute/0b1c")
    assert isinstance(target, EntityPath)
    assert (target.kind.id, target.entity_id, target.location) == (
        INFRA + "compute",
        "0b1c",
        "/compute/0b1c",
    )


@pytest.mark.parametrize("path", ["/nothing/", "/nothing/x", "/users/joe/web/x", "/compute/a/b"])
def test_nothing_else_lives_anywhere(model, path):
    assert resolve(model, path) is None
