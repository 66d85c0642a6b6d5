"""Handing out what must be unique: IP addresses, MAC addresses, device names, subnets.

Addresses are rows of `sim_addresses`, unique per pool, each held by a link
or an IP reservation and freed with it (ON DELETE CASCADE). Like a DHCP
server, a pool hands out the address after the highest one held (one
indexed MAX query, however full the pool is) and only when it reaches the
end of its range goes back for addresses freed on the way (a search for the
lowest gap, in SQL). So a freed address is not given to someone else at once.
Shared pools (the public and private networks, MACs) are locked across
tenants on PostgreSQL while a transaction allocates from them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import sqlalchemy as sa

from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.backends.sim.context import Work
from pyocci.backends.sim.shared import IPAddress, IPNetwork, first_host
from pyocci.backends.sim.tables import sim_addresses

ADDRESSES = sim_addresses
_NEXT = sim_addresses.alias("next_address")

MAC_POOL = "mac"
# Locally administered unicast MACs, 02:00:00:00:00:01 upwards.
_MAC_FIRST = 0x02_00_00_00_00_01
_MAC_LAST = 0x02_00_FF_FF_FF_FF

# Ordinals are BIGINT; an IPv6 pool is searched in its first 2**62 addresses.
_ORDINAL_LIMIT = 2**62


def network_pool(network_seq: int) -> str:
    """The pool of a tenant's network."""
    return f"network:{network_seq}"


def parse_network(value: object, what: str) -> IPNetwork:
    """A CIDR from an attribute value, or InvalidRequestError saying what is wrong."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be a CIDR such as 192.168.0.0/24")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as error:
        raise InvalidRequestError(f"{what} {value!r} is not a CIDR: {error}") from None
    if network.num_addresses < 4:
        raise InvalidRequestError(
            f"{what} {value!r} is too small: a network needs at least 4 addresses (a /30)"
        )
    return network


def parse_address(value: object, what: str) -> IPAddress:
    """An IP address from an attribute value, or InvalidRequestError."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be an IP address")
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise InvalidRequestError(f"{what} {value!r} is not an IP address") from None


def _host_range(network: IPNetwork) -> tuple[int, int]:
    """Ordinals of the assignable addresses: not the network address, not IPv4 broadcast."""
    last = network.num_addresses - (2 if network.version == 4 else 1)
    return 1, min(last, _ORDINAL_LIMIT)


def _next_free(work: Work, pool: str, start: int, end: int, skip: Iterable[int]) -> int | None:
    """The address after the highest held in [start, end]; at the end, the lowest gap."""
    skipped = set(skip)
    highest = work.connection.scalar(_HIGHEST, {"pool": pool, "start": start, "end": end})
    candidate = start if highest is None else highest + 1
    while candidate in skipped:
        candidate += 1
    if candidate <= end:
        return candidate
    return _lowest_free(work, pool, start, end, skipped)


_HIGHEST = sa.select(sa.func.max(ADDRESSES.c.ordinal)).where(
    ADDRESSES.c.pool == sa.bindparam("pool"),
    ADDRESSES.c.ordinal >= sa.bindparam("start"),
    ADDRESSES.c.ordinal <= sa.bindparam("end"),
)
_HELD = sa.select(ADDRESSES.c.seq).where(
    ADDRESSES.c.pool == sa.bindparam("pool"), ADDRESSES.c.ordinal == sa.bindparam("ordinal")
)
# The lowest held ordinal at or after a candidate whose successor is free.
_GAP = (
    sa.select(ADDRESSES.c.ordinal + 1)
    .where(
        ADDRESSES.c.pool == sa.bindparam("pool"),
        ADDRESSES.c.ordinal >= sa.bindparam("candidate"),
        ~sa.exists().where(
            _NEXT.c.pool == sa.bindparam("pool"), _NEXT.c.ordinal == ADDRESSES.c.ordinal + 1
        ),
    )
    .order_by(ADDRESSES.c.ordinal)
    .limit(1)
)


def _lowest_free(work: Work, pool: str, start: int, end: int, skipped: set[int]) -> int | None:
    connection = work.connection
    candidate = start
    while candidate <= end:
        if candidate in skipped:
            candidate += 1
            continue
        if connection.scalar(_HELD, {"pool": pool, "ordinal": candidate}) is None:
            return candidate
        candidate = connection.scalar(_GAP, {"pool": pool, "candidate": candidate})
    return None


def _hold(work: Work, pool: str, address: str, ordinal: int, holder_seq: int) -> None:
    work.connection.execute(
        ADDRESSES.insert().values(
            pool=pool,
            address=address,
            ordinal=ordinal,
            tenant_id=work.tenant_id,
            holder_seq=holder_seq,
        )
    )


def choose_address(
    work: Work,
    pool: str,
    network: IPNetwork,
    gateway: IPAddress | None,
    requested: str | None = None,
) -> IPAddress:
    """The address a new interface or reservation gets: the one requested if it is free
    and in the network, else the first free one. Hold it with `hold_address`."""
    if not pool.startswith("network:"):
        work.cloud.database.lock(work.connection, f"sim:pool:{pool}")
    start, end = _host_range(network)
    reserved = set()
    if gateway is not None and gateway in network:
        reserved.add(int(gateway) - int(network.network_address))
    if requested is not None:
        address = parse_address(requested, "the requested address")
        if address not in network:
            raise InvalidRequestError(f"address {address} is not in the network {network}")
        ordinal = int(address) - int(network.network_address)
        if ordinal in reserved or not start <= ordinal <= end:
            raise InvalidRequestError(
                f"address {address} is reserved in {network} (network, broadcast or gateway)"
            )
        if _held_by(work, pool, str(address)) is not None:
            raise ConflictError(f"address {address} is already in use in {network}")
        return address
    ordinal = _next_free(work, pool, start, end, reserved)
    if ordinal is None:
        raise ConflictError(
            f"no free address left in {network}; release one (delete an interface or "
            "reservation) or use another network"
        )
    return network.network_address + ordinal


def hold_address(
    work: Work, pool: str, network: IPNetwork, address: IPAddress, holder_seq: int
) -> None:
    """Record that `holder_seq` holds `address` in `pool` (freed when the holder goes)."""
    _hold(work, pool, str(address), int(address) - int(network.network_address), holder_seq)


def _held_by(work: Work, pool: str, address: str) -> int | None:
    return work.connection.scalar(
        sa.select(ADDRESSES.c.holder_seq).where(
            ADDRESSES.c.pool == pool, ADDRESSES.c.address == address
        )
    )


def release(work: Work, holder_seq: int, pool: str | None = None) -> None:
    """Free what a holder holds (in one pool, or all of it)."""
    condition = ADDRESSES.c.holder_seq == holder_seq
    if pool is not None:
        condition = sa.and_(condition, ADDRESSES.c.pool == pool)
    work.connection.execute(ADDRESSES.delete().where(condition))


def pool_in_use(work: Work, pool: str) -> bool:
    """Whether any address of the pool is held."""
    return (
        work.connection.scalar(sa.select(ADDRESSES.c.seq).where(ADDRESSES.c.pool == pool).limit(1))
        is not None
    )


# --- MAC addresses -----------------------------------------------------------------------


def _mac_text(value: int) -> str:
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))


def _mac_value(requested: str) -> int:
    digits = requested.replace("-", "").replace(":", "")
    try:
        value = int(digits, 16)
    except ValueError:
        value = -1
    if len(digits) != 12 or value < 0:
        raise InvalidRequestError(f"{requested!r} is not a MAC address (like 02:00:00:00:00:01)")
    return value


def choose_mac(work: Work, requested: str | None = None) -> str:
    """A MAC address unique across the cloud: the one requested if it is free, else the
    next locally administered one. Hold it with `hold_mac`."""
    work.cloud.database.lock(work.connection, f"sim:pool:{MAC_POOL}")
    if requested is not None:
        text = _mac_text(_mac_value(requested))
        if _held_by(work, MAC_POOL, text) is not None:
            raise ConflictError(f"MAC address {text} is already in use")
        return text
    value = _next_free(work, MAC_POOL, _MAC_FIRST, _MAC_LAST, ())
    if value is None:
        raise ConflictError("no free MAC address left")
    return _mac_text(value)


def hold_mac(work: Work, mac: str, holder_seq: int) -> None:
    """Record that `holder_seq` holds this MAC address."""
    _hold(work, MAC_POOL, mac, _mac_value(mac), holder_seq)


# --- device names, interface names, subnets ---------------------------------------------------


def _device_name(index: int) -> str:
    # vda is the root disk; then vdb ... vdz, vdaa, vdab ... as Linux names them.
    letters = ""
    index += 1
    while True:
        index, remainder = divmod(index, 26)
        letters = chr(ord("a") + remainder) + letters
        if index == 0:
            break
        index -= 1
    return "/dev/vd" + letters


def next_device(taken: Iterable[str]) -> str:
    """The first free block device name after the root disk: /dev/vdb, /dev/vdc..."""
    used = set(taken)
    index = 0
    while _device_name(index) in used:
        index += 1
    return _device_name(index)


#: What a Linux network device may be called (at most 15 characters).
_DEVICE_NAME = re.compile(r"[a-z][a-z0-9]{0,14}")


def next_interface(taken: Iterable[str], wanted: object = None) -> str:
    """The interface name a client asked for (`wanted`), if it is a free device name;
    else the first free one: eth0, eth1..."""
    used = set(taken)
    if isinstance(wanted, str) and _DEVICE_NAME.fullmatch(wanted) and wanted not in used:
        return wanted
    index = 0
    while f"eth{index}" in used:
        index += 1
    return f"eth{index}"


def fresh_subnet(space: IPNetwork, taken: Iterable[IPNetwork], prefix: int = 24) -> IPNetwork:
    """The first /24 (or `prefix`) of `space` that overlaps none of `taken`."""
    occupied = list(taken)
    for candidate in space.subnets(new_prefix=max(prefix, space.prefixlen)):
        if not any(candidate.overlaps(other) for other in occupied):  # type: ignore[arg-type]
            return candidate
    raise ConflictError(
        f"no free /{prefix} left in {space} for a new network; give occi.network.address"
    )


def gateway_of(network: IPNetwork, value: object) -> IPAddress:
    """The gateway of a network: the one given (checked), else the first host."""
    if value is None:
        return first_host(network)
    gateway = parse_address(value, "occi.network.gateway")
    if gateway not in network:
        raise InvalidRequestError(f"the gateway {gateway} is not in the network {network}")
    return gateway
