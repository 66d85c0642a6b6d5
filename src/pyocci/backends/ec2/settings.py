"""How the EC2 backend reaches its cloud and what it offers: ``[backend_settings]`` for ec2.

`Ec2Settings.from_dict` reads the plain dictionary a TOML table becomes::

    backend = "ec2"

    [backend_settings]
    region = "eu-west-1"
    vpc_id = "vpc-0abc..."
    subnet_id = "subnet-0def..."
    image_owners = ["self", "136693071363"]
    image_filters = {name = ["debian-12-*"]}
    instance_types = ["t3.micro", "t3.small", "m5.large"]

Credentials come from the usual AWS sources (environment, shared files,
instance profile) unless `profile` or an access key pair is given here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple

from annotated_types import MinLen

from pyocci.backends.kit.settings import Count, Flag, Positive, Texts, read_settings

#: Instance types offered when the configuration names none.
DEFAULT_INSTANCE_TYPES = (
    "t3.nano",
    "t3.micro",
    "t3.small",
    "t3.medium",
    "t3.large",
    "m5.large",
    "m5.xlarge",
    "c5.large",
    "r5.large",
)

#: A setting that is a name or a URL: never empty.
Text = Annotated[str, MinLen(1)]

_EC2_ID = re.compile(r"[a-z]+-[0-9a-f]{8,17}")


class CallTimeouts(NamedTuple):
    """botocore's timeouts for one attempt of an EC2 call, in seconds."""

    connect: float
    read: float


def backoff_allowance(attempts: int) -> float:
    """The longest botocore's standard retry mode sleeps between `attempts` attempts:
    up to 1, 2, 4... seconds (each at most 20) before the second, third... attempt."""
    return float(sum(min(2 ** (n - 1), 20) for n in range(1, attempts)))


@dataclass(frozen=True, slots=True)
class Ec2Settings:
    """Everything the EC2 backend is told by the server configuration.

    `tenancy` says how OCCI tenants share the account: ``"tag"`` (each
    resource carries `tenant_tag` = tenant id; a tenant sees only its own)
    or ``"account"`` (every tenant sees everything in the region, including
    what was made outside OCCI untagged). `key_policy` says what happens to
    an SSH key given at creation: ``"import"`` (imported once as a key pair
    named after its fingerprint), ``"fixed"`` (always `key_name`; keys from
    clients are refused) or ``"none"`` (no key pairs at all).

    `max_attempts` is the number of attempts each EC2 call gets in all (the
    first and the retries), and `read_timeout`, when not given, is what the
    server's cloud deadline leaves each attempt (`call_timeouts`).
    """

    region: Text = "us-east-1"
    endpoint_url: Text | None = None
    profile: Text | None = None
    access_key_id: Text | None = None
    secret_access_key: Text | None = None
    session_token: Text | None = None
    vpc_id: Text | None = None
    subnet_id: Text | None = None
    security_group_ids: Texts = ()
    key_policy: Literal["import", "fixed", "none"] = "import"
    key_name: Text | None = None
    image_owners: Texts = ("self",)
    image_filters: Mapping[str, Texts] = field(default_factory=dict)
    instance_types: Texts = DEFAULT_INSTANCE_TYPES
    default_image: Text | None = None
    default_instance_type: Text = "t3.micro"
    template_ttl: Positive = 300.0
    tenancy: Literal["tag", "account"] = "tag"
    tenant_tag: Text = "occi:tenant"
    public_ip_on_launch: Flag = False
    hibernation: Flag = False
    connect_timeout: Positive = 5.0
    read_timeout: Positive | None = None
    max_attempts: Count = 2
    retry_after: Count = 5
    wait_seconds: Positive = 300.0

    def __post_init__(self) -> None:
        # What spans several settings, or what the field types cannot say.
        if self.key_policy == "fixed" and not self.key_name:
            raise ValueError(
                'backend_settings.key_policy = "fixed" needs key_name, the key pair to use'
            )
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "backend_settings: give both access_key_id and secret_access_key, or neither"
            )
        if not self.image_owners and not self.image_filters:
            # Unfiltered, DescribeImages lists every public AMI: tens of thousands.
            raise ValueError(
                "backend_settings: give image_owners or image_filters; listing every AMI is refused"
            )
        for name in ("vpc_id", "subnet_id"):
            value = getattr(self, name)
            if value is not None and not _EC2_ID.fullmatch(value):
                raise ValueError(
                    f"backend_settings.{name}: {value!r} is not an EC2 id such as vpc-0abc1234"
                )
        if self.endpoint_url is not None and not re.match(r"https?://", self.endpoint_url):
            raise ValueError(
                f"backend_settings.endpoint_url must be an http(s) URL; got {self.endpoint_url!r}"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ec2Settings:
        """Read settings; ValueError naming each key that is unknown or malformed and
        what it takes (`pyocci.backends.kit.settings.read_settings`)."""
        return read_settings(cls, data)

    def call_timeouts(self, deadline: float) -> CallTimeouts:
        """The connect and read timeouts of one attempt, such that every attempt of a call,
        and botocore's pauses between them, fit within `deadline` seconds: then an EC2
        call the deadline gave up on ends by itself by then too. ValueError, saying what
        to change, when the configured timeouts do not fit."""
        attempts = self.max_attempts
        budget = deadline - backoff_allowance(attempts)
        if self.read_timeout is None:
            read = budget / attempts - self.connect_timeout
            if read < 0.1:
                raise ValueError(
                    f"max_attempts ({attempts}) x connect_timeout ({self.connect_timeout:g} s) "
                    f"leaves no time to read EC2's answers within [limits] cloud_deadline "
                    f"({deadline:g} s); lower connect_timeout or max_attempts, or raise "
                    "cloud_deadline"
                )
            return CallTimeouts(self.connect_timeout, read)
        longest = attempts * (self.connect_timeout + self.read_timeout)
        if longest > budget:
            raise ValueError(
                f"max_attempts ({attempts}) x (connect_timeout {self.connect_timeout:g} s + "
                f"read_timeout {self.read_timeout:g} s), with botocore's pauses between "
                f"attempts, is longer than [limits] cloud_deadline ({deadline:g} s): EC2 calls "
                "would go on after clients were answered 503; lower them (or leave "
                "read_timeout out to fit it to the deadline), or raise cloud_deadline"
            )
        return CallTimeouts(self.connect_timeout, self.read_timeout)
