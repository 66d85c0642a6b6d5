"""`SigningKeyFile`: the handshake's key, made once, shared by processes, replaced to revoke."""

from __future__ import annotations

import base64
import logging
import multiprocessing
from pathlib import Path

import pytest

from clocks import FakeClock
from pyocci.server.auth.signing_key import KEY_BYTES, SigningKey, SigningKeyFile
from pyocci.server.config import ConfigError


def test_the_first_look_makes_a_private_key_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "handshake.key"
    key = SigningKeyFile(path).current()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(base64.urlsafe_b64decode(path.read_text().strip())) == KEY_BYTES
    assert key == SigningKey.of(base64.urlsafe_b64decode(path.read_text().strip()))
    # Another reader of the file (a worker, a restarted server) has the same key.
    assert SigningKeyFile(path).current() == key
    assert list(path.parent.iterdir()) == [path], "no temporary file is left behind"


def _key_id(path: str) -> str:
    return SigningKeyFile(Path(path)).current().id


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "handshake.key"
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        ids = pool.map(_key_id, [str(path)] * 12)
    assert len(set(ids)) == 1
    assert SigningKeyFile(path).current().id == ids[0]


def test_a_replaced_key_is_noticed_at_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "handshake.key"
    clock = FakeClock()
    serving = SigningKeyFile(path, recheck_seconds=1.0, clock=clock)
    old = serving.current()
    new = SigningKeyFile(path).replace()
    assert new != old
    assert serving.current() == old, "looked at again only after recheck_seconds"
    clock.advance(1.0)
    assert serving.current() == new


def test_a_vanished_file_is_made_again(tmp_path: Path) -> None:
    path = tmp_path / "handshake.key"
    clock = FakeClock()
    keys = SigningKeyFile(path, clock=clock)
    old = keys.current()
    path.unlink()
    clock.advance(5)
    assert keys.current() != old
    assert path.exists()


def test_a_file_without_a_key_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "handshake.key"
    path.write_text("short\n")
    with pytest.raises(ConfigError) as caught:
        SigningKeyFile(path).current()
    assert caught.value.message == (
        f"auth.handshake_key_file: {path} holds no key (expected {KEY_BYTES} random bytes "
        f"in base64url); delete it and occi-server makes a new one"
    )


def test_a_path_that_cannot_hold_the_file_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        SigningKeyFile(blocker / "handshake.key").current()
    assert caught.value.message == (
        f"auth.handshake_key_file: cannot read {blocker / 'handshake.key'}: Not a directory"
    )


def test_a_spoiled_file_leaves_the_key_in_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "handshake.key"
    clock = FakeClock()
    keys = SigningKeyFile(path, clock=clock)
    key = keys.current()
    path.write_text("spoiled\n")
    clock.advance(5)
    with caplog.at_level(logging.ERROR, logger="pyocci.server.auth"):
        assert keys.current() == key
    assert "holds no key" in caplog.text and "the key read before is still used" in caplog.text
