"""oned's VM answers read with lxml in one pass, in the shape pyone's bindings give them.

pyone binds an answer to generateDS classes and turns each VM's ``TEMPLATE``
and ``USER_TEMPLATE`` into dictionaries by writing the element out and
parsing it again with xmltodict: 20 ms of a 100-VM page of
``vmpool.infoextended``, 0.25 ms of a ``vm.info`` (a tenth of the whole
call). VM reads are the backend's hot path (every compute read and
listing), so their answers are read here instead, into records with pyone's
attribute names and types: the numbers of oned's VM schema as int, other
text as str; ``TEMPLATE`` and ``USER_TEMPLATE`` as pyone
makes them (a dictionary; a vector attribute a dictionary, a list when
repeated; an empty attribute None; ``SNAPSHOT`` always a list); repeated
elements as lists, and a pool's ``VM`` and ``HISTORY_RECORDS.HISTORY``
always lists. Every other answer is bound by pyone.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True, remove_pis=True
)

#: The elements oned's VM schema types as integers: the VM's, its PERMISSIONS', LOCK's,
#: HISTORY records', disk SNAPSHOTS' and BACKUPS' (an element name means the same
#: wherever it is in the schema). A HISTORY record's REQUEST_ID is text to pyone.
INTEGERS = frozenset(
    {
        *("ID", "UID", "GID", "LAST_POLL", "STATE", "LCM_STATE", "PREV_STATE"),
        *("PREV_LCM_STATE", "RESCHED", "STIME", "ETIME"),
        *("OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A"),
        *("OTHER_U", "OTHER_M", "OTHER_A", "LOCKED", "OWNER", "TIME", "REQ_ID"),
        *("OID", "SEQ", "HID", "CID", "DS_ID", "PLAN_ID", "ACTION_ID", "PSTIME"),
        *("PETIME", "RSTIME", "RETIME", "ESTIME", "EETIME", "ACTION"),
        *("CURRENT_BASE", "DISK_ID", "NEXT_SNAPSHOT", "DATE", "PARENT", "SIZE"),
    }
)
#: Elements pyone always gives as a list, even of one, by the element holding them.
LISTS = {"VM_POOL": "VM", "HISTORY_RECORDS": "HISTORY"}
#: The elements of the VM schema that hold others: an object even when empty.
CONTAINERS = frozenset(
    {"PERMISSIONS", "LOCK", "MONITORING", "HISTORY_RECORDS", "SNAPSHOTS", "BACKUPS"}
    | {"BACKUP_CONFIG", "BACKUP_IDS", "SCHED_ACTIONS"}
)
#: Template bodies, given as dictionaries.
TEMPLATES = frozenset({"TEMPLATE", "USER_TEMPLATE"})
#: Template attributes pyone always gives as a list (its ``TEMPLATE_ALWAYS_LIST_ELEM``).
TEMPLATE_LISTS = ("SNAPSHOT",)


class Record:
    """An element of oned's answer, its child elements as attributes (a missing one reads
    as absent: ``getattr(record, name, None)``)."""

    def __repr__(self) -> str:
        return f"Record({vars(self)!r})"


def _pushed(into: dict[str, Any], key: str, value: Any) -> None:
    """A child's value added as xmltodict adds it: a repeated key becomes a list."""
    if key not in into:
        into[key] = value
    elif isinstance(into[key], list):
        into[key].append(value)
    else:
        into[key] = [into[key], value]


def _template_value(element: Any) -> Any:
    """An element of a template body as xmltodict reads it: its text (None when empty), or
    a dictionary of its attributes (``@name``), children and text (``#text``)."""
    text = (element.text or "") + "".join(child.tail or "" for child in element)
    if len(element) == 0 and not element.attrib:
        return text or None
    value: dict[str, Any] = {f"@{name}": item for name, item in element.attrib.items()}
    for child in element:
        _pushed(value, child.tag, _template_value(child))
    if text:
        value["#text"] = text
    return value


def _template(element: Any) -> Any:
    """A TEMPLATE or USER_TEMPLATE as pyone gives it (`pyone.util.child2dict`)."""
    value = _template_value(element)
    if value is None:
        return {}
    if element.tag == "TEMPLATE" and isinstance(value, dict):
        for name in TEMPLATE_LISTS:
            if name in value and not isinstance(value[name], list):
                value[name] = [value[name]]
    return value


def _record(element: Any) -> Record:
    record = Record()
    fields = vars(record)
    listed = LISTS.get(element.tag)
    if listed is not None:
        fields[listed] = []
    for child in element:
        tag = child.tag
        if tag in TEMPLATES:
            value: Any = _template(child)
        elif len(child) or tag in CONTAINERS:
            value = _record(child)
        elif child.text is None:
            value = None if tag in INTEGERS else ""
        else:
            value = int(child.text) if tag in INTEGERS else child.text
        if tag == listed:
            fields[tag].append(value)
        elif tag in fields:
            kept = fields[tag]
            fields[tag] = [*kept, value] if isinstance(kept, list) else [kept, value]
        else:
            fields[tag] = value
    return record


def read(xml: str) -> Record:
    """A ``<VM>`` (``vm.info``) or ``<VM_POOL>`` (``vmpool.info*``) answer as a record;
    ValueError for anything else."""
    try:
        root = etree.fromstring(xml.encode(), _PARSER)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not XML: {error}") from None
    if root.tag not in ("VM", "VM_POOL"):
        raise ValueError(f"<{root.tag}> where a VM or a VM pool belongs")
    return _record(root)
