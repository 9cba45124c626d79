"""Private records of the certificate and provisioning family, and their indexes.

Device certificates and policies (`IdentityState`, reached with `identity_of(backend)`) are
read by other families (principals, audit, provisioning), and so are CA certificates
(`cas_of(backend)`: audit, device connections) and provisioning templates
(`templates_of(backend)`: fleet provisioning by claim, JITP). Other families change none of
them but through this family's functions. What only this family needs (creation-order
indexes, transfers in flight, certificate providers) lives in the other stores below,
reached with `backend.store(Kind)`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cryptography import x509

from iotmock.core.backend import Backend
from iotmock.core.paging import SortedIndex, page_of

V = TypeVar("V")

_SEQUENCE = itertools.count()
_MAX_MILLIS = 10**15 - 1
_MAX_SEQUENCE = 10**12 - 1

# Marker lists without a documented default page size use ListCertificates' 25.
DEFAULT_PAGE_SIZE = 25


@dataclass(slots=True)
class Certificate:
    """A device certificate (AWS-issued or registered)."""

    certificate_id: str
    arn: str
    pem: str
    status: str
    created_at: float
    last_modified_at: float
    ca_certificate_id: str | None = None
    owned_by: str = ""
    previous_owned_by: str | None = None
    customer_version: int = 1
    generation_id: str = ""
    not_before: float = 0.0
    not_after: float = 0.0
    certificate_mode: str = "DEFAULT"
    transfer_data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PolicyVersion:
    version_id: str
    document: str
    created_at: float


@dataclass(slots=True)
class Policy:
    """An IoT policy: up to five versions, one of them the default."""

    name: str
    arn: str
    versions: dict[str, PolicyVersion] = field(default_factory=dict)
    default_version_id: str = "1"
    # The highest version id issued so far: ids are never reused after deletion.
    last_version_id: int = 1
    created_at: float = 0.0
    last_modified_at: float = 0.0
    generation_id: str = ""

    @property
    def default_version(self) -> PolicyVersion:
        return self.versions[self.default_version_id]


@dataclass(slots=True)
class IdentityState:
    """Certificates and policies of one (account, region)."""

    certificates: SortedIndex[Certificate] = field(default_factory=SortedIndex)
    policies: SortedIndex[Policy] = field(default_factory=SortedIndex)
    # policy name -> targets (certificate ARNs, thing-group ARNs, Cognito identity ids)
    # and target -> policy names; dicts used as insertion-ordered sets.
    policy_targets: dict[str, dict[str, None]] = field(default_factory=dict)
    target_policies: dict[str, dict[str, None]] = field(default_factory=dict)


def identity_of(backend: Backend) -> IdentityState:
    """The certificates and policies of `backend`."""
    return backend.store(IdentityState)


class CreationOrder(Generic[V]):
    """Items ordered by creation date (ties by insertion), paged either way in O(page).

    Two sorted indexes, one per direction, because SortedIndex only walks forward.
    """

    __slots__ = ("_ascending", "_descending", "_keys")

    def __init__(self) -> None:
        self._ascending: SortedIndex[V] = SortedIndex()
        self._descending: SortedIndex[V] = SortedIndex()
        self._keys: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, item_id: str, created_at: float, item: V) -> None:
        self.remove(item_id)
        millis = min(max(int(created_at * 1000), 0), _MAX_MILLIS)
        sequence = next(_SEQUENCE) % _MAX_SEQUENCE
        up = f"{millis:015d}.{sequence:012d}"
        down = f"{_MAX_MILLIS - millis:015d}.{_MAX_SEQUENCE - sequence:012d}"
        self._keys[item_id] = (up, down)
        self._ascending[up] = item
        self._descending[down] = item

    def remove(self, item_id: str) -> None:
        keys = self._keys.pop(item_id, None)
        if keys is not None:
            self._ascending.pop(keys[0])
            self._descending.pop(keys[1])

    def page(
        self,
        scope: str,
        params: dict[str, Any],
        *,
        keep: Callable[[V], bool] | None = None,
        default_limit: int = DEFAULT_PAGE_SIZE,
    ) -> tuple[list[V], str | None]:
        """A marker-style page (`marker`, `pageSize`, `ascendingOrder`; newest first by
        default)."""
        ascending = bool(params.get("ascendingOrder"))
        return page_of(
            f"{scope}:{'asc' if ascending else 'desc'}",
            self._ascending if ascending else self._descending,
            params,
            keep=keep,
            token_member="marker",
            limit_member="pageSize",
            default_limit=default_limit,
        )


# --------------------------------------------------------------------------- certificates


@dataclass(slots=True)
class Incoming:
    """A certificate another account is transferring to this one."""

    certificate: Certificate
    source_account: str


@dataclass(slots=True)
class CertificateStore:
    """Indexes over `Backend.certificates` and the transfers of this account."""

    # Owned certificates and certificates being transferred in, by creation date.
    order: CreationOrder[Certificate] = field(default_factory=CreationOrder)
    # CA certificate id -> the device certificates registered with it.
    by_ca: dict[str, CreationOrder[Certificate]] = field(default_factory=dict)
    incoming: dict[str, Incoming] = field(default_factory=dict)
    # certificate id -> target account, for the transfers this account started.
    outgoing: dict[str, str] = field(default_factory=dict)
    outgoing_order: CreationOrder[Certificate] = field(default_factory=CreationOrder)
    # Transfers completed (accepted): id -> target account on the source side, and
    # id -> source account on the target side.
    transferred_away: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- CA certificates


@dataclass(slots=True)
class CACertificate:
    certificate_id: str
    arn: str
    pem: str
    certificate: x509.Certificate
    status: str
    auto_registration_status: str
    owned_by: str
    created_at: float
    last_modified_at: float
    not_before: float
    not_after: float
    generation_id: str
    certificate_mode: str = "DEFAULT"
    customer_version: int = 1
    registration_config: dict[str, Any] | None = None


@dataclass(slots=True)
class CAStore:
    cas: SortedIndex[CACertificate] = field(default_factory=SortedIndex)
    order: CreationOrder[CACertificate] = field(default_factory=CreationOrder)
    # DER of the CA subject -> ids of the CAs with that subject (insertion ordered).
    by_subject: dict[bytes, dict[str, None]] = field(default_factory=dict)
    registration_code: str | None = None


def cas_of(backend: Backend) -> CAStore:
    """The CA certificates of `backend` (and its registration code)."""
    return backend.store(CAStore)


# --------------------------------------------------------------------------- provisioning


@dataclass(slots=True)
class TemplateVersion:
    version_id: int
    body: str
    created_at: float


@dataclass(slots=True)
class ProvisioningTemplate:
    name: str
    arn: str
    body: str
    provisioning_role_arn: str
    template_type: str
    created_at: float
    last_modified_at: float
    description: str | None = None
    enabled: bool = False
    pre_provisioning_hook: dict[str, Any] | None = None
    versions: dict[int, TemplateVersion] = field(default_factory=dict)
    default_version_id: int = 1
    # The highest version id issued so far: ids are never reused after deletion.
    last_version_id: int = 1


@dataclass(slots=True)
class TemplateStore:
    templates: SortedIndex[ProvisioningTemplate] = field(default_factory=SortedIndex)


def templates_of(backend: Backend) -> TemplateStore:
    """The provisioning templates of `backend`."""
    return backend.store(TemplateStore)


def template_exists(backend: Backend, name: str) -> bool:
    return name in templates_of(backend).templates


# --------------------------------------------------------------------------- providers


@dataclass(slots=True)
class CertificateProvider:
    name: str
    arn: str
    lambda_function_arn: str
    account_default_for_operations: list[str]
    created_at: float
    last_modified_at: float
    client_token: str | None = None


@dataclass(slots=True)
class ProviderStore:
    providers: SortedIndex[CertificateProvider] = field(default_factory=SortedIndex)
