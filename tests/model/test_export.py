"""The export categories: pyocci's own scheme, a life cycle only cancel drives, and the
standard categories OCCI 1.2 clients know left as they were."""

from __future__ import annotations

from pyocci.model import standard_model
from pyocci.model.export import (
    EXPORT,
    EXPORT_CANCEL,
    EXPORT_STATES,
    HTTPS_TARGET,
    S3_TARGET,
    SOURCE,
    STATE,
    TARGET,
)
from pyocci.model.infrastructure import COMPUTE, OS_TPL
from pyocci.model.registry import SETTABLE_AT_CREATION


def test_export_is_a_resource_kind_of_pyoccis_scheme() -> None:
    model = standard_model()
    kind = model.kind(EXPORT.id)
    assert kind.id == "http://schemas.pyocci.org/occi/infrastructure#export"
    assert kind.location == "/export/"
    assert model.is_kind_of(EXPORT.id, "http://schemas.ogf.org/occi/core#resource")
    assert model.by_location("/export/") is kind
    for mixin in (S3_TARGET, HTTPS_TARGET):
        assert model.mixin_applies_to(mixin.id, EXPORT.id)


def test_source_and_target_are_required_and_set_only_at_creation() -> None:
    attributes = EXPORT.attributes
    assert attributes[SOURCE].required and attributes[TARGET].required
    assert not attributes[SOURCE].mutable and not attributes[TARGET].mutable
    assert {SOURCE, TARGET} <= SETTABLE_AT_CREATION
    assert not any(name.startswith("occi.") for name in attributes)


def test_cancel_applies_while_an_export_runs() -> None:
    machine = standard_model().state_machine(EXPORT.id)
    assert machine is not None and machine.attribute == STATE
    assert machine.initial == "pending"
    for state in EXPORT_STATES:
        running = state in ("pending", "transferring")
        assert (EXPORT_CANCEL.id in machine.applicable(state)) is running
        if running:
            assert machine.next_state(EXPORT_CANCEL.id, state) == "cancelled"


def test_the_standard_categories_are_untouched() -> None:
    model = standard_model()
    assert not any("export" in name for name in model.kind(COMPUTE.id).attributes)
    assert all("pyocci" not in action for action in model.kind(COMPUTE.id).actions)
    assert model.mixin(OS_TPL.id).actions == ()
