"""Disk images for the conversion tests, made with the real qemu-img.

`corrupt_qcow2` makes a qcow2 image whose header is sound (qemu-img opens it,
a format check such as Glance's accepts it) but whose first L1 entry points at
an offset no cluster starts at: reading its data fails, as it would for an
image damaged in storage.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

#: Where the qcow2 header keeps the L1 table's offset (a big-endian 64-bit number).
_L1_TABLE_OFFSET = slice(40, 48)
#: An L1 entry: "copied" flag set, pointing inside a cluster (qemu-img says "unaligned").
_BAD_L1_ENTRY = struct.pack(">Q", (1 << 63) | 0x10200)


def corrupt_qcow2(qemu_img: str, data: bytes, workdir: Path) -> bytes:
    """The bytes of a qcow2 image of `data` whose first L2 table cannot be read."""
    raw, image = workdir / "corrupt-source.raw", workdir / "corrupt.qcow2"
    raw.write_bytes(data)
    subprocess.run(
        [qemu_img, "convert", "-f", "raw", "-O", "qcow2", str(raw), str(image)],
        check=True,
        capture_output=True,
    )
    qcow2 = bytearray(image.read_bytes())
    (l1_table,) = struct.unpack(">Q", qcow2[_L1_TABLE_OFFSET])
    qcow2[l1_table : l1_table + 8] = _BAD_L1_ENTRY
    raw.unlink()
    image.unlink()
    return bytes(qcow2)
