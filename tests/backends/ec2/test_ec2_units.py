"""The EC2 backend's pure parts: settings (retries and timeouts too), error translation,
ids, state mapping."""

from __future__ import annotations

import botocore.utils
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pyocci.backends.ec2 import ids
from pyocci.backends.ec2.api import parse_timestamp
from pyocci.backends.ec2.entities import compute_state, ec2_states_for
from pyocci.backends.ec2.errors import invalid_answer, translate
from pyocci.backends.ec2.settings import Ec2Settings, backoff_allowance
from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} said EC2"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "AnyOperation",
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("InvalidInstanceID.NotFound", EntityNotFoundError),
        ("InvalidVolumeID.Malformed", EntityNotFoundError),
        ("IncorrectInstanceState", ConflictError),
        ("VolumeInUse", ConflictError),
        ("UnsupportedOperation", NotSupportedError),
        ("InstanceLimitExceeded", QuotaExceededError),
        ("VcpuLimitExceeded", QuotaExceededError),
        ("RequestLimitExceeded", BackendUnavailableError),
        ("InvalidParameterValue", InvalidRequestError),
        ("AuthFailure", BackendUnavailableError),
    ],
)
def test_ec2_codes_become_backend_errors_keeping_the_message(code, expected):
    error = translate(client_error(code))
    assert isinstance(error, expected)
    assert f"{code} said EC2" in str(error)


def test_an_unknown_reference_in_a_request_is_a_400():
    error = translate(client_error("InvalidAMIID.NotFound"), missing=InvalidRequestError)
    assert isinstance(error, InvalidRequestError)


def test_throttling_asks_for_a_short_wait_and_outages_for_the_configured_one():
    assert translate(client_error("RequestLimitExceeded")).retry_after == 1
    unreachable = translate(EndpointConnectionError(endpoint_url="http://x"), retry_after=7)
    assert isinstance(unreachable, BackendUnavailableError) and unreachable.retry_after == 7
    assert isinstance(translate(client_error("Whatever", 500)), BackendUnavailableError)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "red"}, "backend_settings.colour: unknown setting"),
        ({"tenancy": "shared"}, "backend_settings.tenancy: .*'tag' or 'account'"),
        ({"key_policy": "fixed"}, "needs key_name"),
        ({"image_owners": [], "image_filters": {}}, "listing every AMI is refused"),
        ({"vpc_id": "my-vpc"}, "not an EC2 id"),
        ({"access_key_id": "AKIA"}, "give both"),
        ({"template_ttl": -1}, "backend_settings.template_ttl: .*greater than 0"),
        ({"endpoint_url": "moto:5000"}, "http"),
        ({"instance_types": "t3.micro"}, None),
    ],
)
def test_settings_say_what_to_fix(data, message):
    if message is None:
        assert Ec2Settings.from_dict(data).instance_types == ("t3.micro",)
        return
    with pytest.raises(ValueError, match=message):
        Ec2Settings.from_dict(data)


def test_ids_name_their_kind():
    assert ids.parse("i-0abc12").kind.endswith("#compute")
    assert ids.parse("vol-0abc12").kind.endswith("#storage")
    assert ids.parse("subnet-0abc12").kind.endswith("#network")
    assert ids.parse("public").kind.endswith("#network")
    assert ids.parse("i-0abc12_vol-0def34").kind.endswith("#storagelink")
    assert ids.parse("i-0abc12_sg-0def34").kind.endswith("#securitygrouplink")
    assert ids.parse("eni-0abc12_public").kind.endswith("#networkinterface")
    for wrong in ("vm-1", "I-0abc", "i-0abc12_i-0def34", "", "i-0abc/../x"):
        assert ids.parse(wrong) is None


def test_a_hibernated_instance_is_suspended():
    # moto cannot hibernate; AWS marks a hibernated instance with this state reason.
    hibernated = {
        "State": {"Name": "stopped"},
        "StateReason": {"Code": "Client.UserInitiatedHibernate"},
    }
    assert compute_state(hibernated) == "suspended"
    assert compute_state({"State": {"Name": "stopped"}}) == "inactive"
    assert compute_state({"State": {"Name": "pending"}}) == "waiting"
    assert ec2_states_for("inactive") == ["stopped"]
    # An instance shutting down is being deleted: gone, never waiting.
    assert ec2_states_for("waiting") == ["pending", "stopping"]


def test_ec2_timestamps_parse_as_botocore_reads_them() -> None:
    for text in ("2026-11-22T05:54:32.000Z", "2026-11-22T05:54:32Z", "2026-11-22T05:54:32+02:00"):
        assert parse_timestamp(text) == botocore.utils.parse_timestamp(text)
        assert parse_timestamp(text).tzinfo is not None
    assert parse_timestamp("2026-11-22T05:54:32").tzinfo is not None
    assert parse_timestamp(1_700_000_000) == botocore.utils.parse_timestamp(1_700_000_000)


# --- retries and timeouts: counted as they are made, within the cloud deadline ----------------


def test_max_attempts_counts_every_attempt_and_the_read_timeout_fits_the_deadline():
    settings = Ec2Settings.from_dict({"max_attempts": 2, "connect_timeout": 5})
    # 30 s, less up to 1 s of botocore's pause before the second attempt, in two
    # attempts of 5 s to connect and the rest to read.
    assert settings.call_timeouts(30) == (5.0, 9.5)
    assert backoff_allowance(1) == 0
    assert backoff_allowance(3) == 1 + 2


def test_timeouts_given_must_fit_the_deadline_and_the_message_says_what_to_change():
    fitting = Ec2Settings.from_dict({"max_attempts": 1, "connect_timeout": 2, "read_timeout": 8})
    assert fitting.call_timeouts(10) == (2.0, 8.0)
    with pytest.raises(ValueError, match=r"cloud_deadline \(9 s\).*raise cloud_deadline"):
        fitting.call_timeouts(9)
    crowded = Ec2Settings.from_dict({"max_attempts": 4, "connect_timeout": 5})
    with pytest.raises(ValueError, match="leaves no time to read"):
        crowded.call_timeouts(20)


def test_translated_errors_keep_ec2s_code():
    error = translate(client_error("InvalidSubnetID.NotFound"), missing=InvalidRequestError)
    assert isinstance(error, InvalidRequestError)
    assert error.cloud_code == "InvalidSubnetID.NotFound"
    assert translate(client_error("Unavailable", 503)).cloud_code == "Unavailable"


def test_an_answer_that_is_not_ec2s_names_the_call_and_blames_the_endpoint():
    error = invalid_answer("describe_instances", "the answer has no request id", 4)
    assert isinstance(error, BackendUnavailableError) and error.retry_after == 4
    assert "answered DescribeInstances" in str(error)
    assert "the answer has no request id" in str(error)
