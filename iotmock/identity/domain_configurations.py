"""Domain configurations (configurable endpoints): CreateDomainConfiguration,
DescribeDomainConfiguration, UpdateDomainConfiguration, DeleteDomainConfiguration,
ListDomainConfigurations.

Every account has the configurations of its default endpoints (`iot:Data-ATS`,
`iot:CredentialProvider`, `iot:Jobs`, domain type ENDPOINT): they are listed and described
but cannot be updated or deleted. A configuration created without `domainName` is
AWS_MANAGED and gets its own `*.amazonaws.com` name; one with `domainName` is
CUSTOMER_MANAGED and needs its server certificate.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, crud, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request, limit_exceeded
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.identity.authorizers import authorizer_exists
from iotmock.identity.endpoints import endpoint_address, endpoint_prefix

# AWS IoT quota: domain configurations per account and region.
MAX_DOMAIN_CONFIGURATIONS = 10
DEFAULT_SECURITY_POLICY = "IoTSecurityPolicy_TLS13_1_2_2022_10"
SECURITY_POLICIES = frozenset(
    {
        "IoTSecurityPolicy_TLS13_1_3_2022_10",
        "IoTSecurityPolicy_TLS13_1_2_2022_10",
        "IoTSecurityPolicy_TLS13_1_2_FIPS_2023_01",
        "IoTSecurityPolicy_TLS12_1_2_2022_10",
        "IoTSecurityPolicy_TLS12_1_0_2016_01",
        "IoTSecurityPolicy_TLS12_1_0_2015_01",
    }
)
# The default endpoints' configurations: name -> (service type, DescribeEndpoint type).
_DEFAULT_ENDPOINTS = {
    "iot:Data-ATS": ("DATA", "iot:Data-ATS"),
    "iot:CredentialProvider": ("CREDENTIAL_PROVIDER", "iot:CredentialProvider"),
    "iot:Jobs": ("JOBS", "iot:Jobs"),
}
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class DomainConfiguration:
    name: str
    arn: str
    domain_name: str
    domain_type: str
    service_type: str
    status: str
    last_status_change: float
    server_certificate_arns: list[str] = field(default_factory=list)
    validation_certificate_arn: str | None = None
    authorizer_config: dict[str, Any] | None = None
    security_policy: str = DEFAULT_SECURITY_POLICY
    server_certificate_config: dict[str, Any] | None = None
    authentication_type: str = "DEFAULT"
    application_protocol: str = "DEFAULT"
    client_certificate_config: dict[str, Any] | None = None


@dataclass(slots=True)
class DomainConfigurationStore:
    configurations: SortedIndex[DomainConfiguration] = field(default_factory=SortedIndex)
    defaults_added: bool = False


def _configurations(backend: Backend) -> SortedIndex[DomainConfiguration]:
    store = backend.store(DomainConfigurationStore)
    if not store.defaults_added:
        store.defaults_added = True
        for name, (service_type, endpoint_type) in _DEFAULT_ENDPOINTS.items():
            store.configurations[name] = DomainConfiguration(
                name=name,
                arn=backend.arn(f"domainconfiguration/{name}"),
                domain_name=endpoint_address(backend, endpoint_type),
                domain_type="ENDPOINT",
                service_type=service_type,
                status="ENABLED",
                last_status_change=clock.now(),
            )
    return store.configurations


def configurations_using_authorizer(backend: Backend, authorizer_name: str) -> list[str]:
    """Names of the configurations whose default authorizer is `authorizer_name`."""
    return [
        c.name
        for c in _configurations(backend).values()
        if (c.authorizer_config or {}).get("defaultAuthorizerName") == authorizer_name
    ]


@tagging.taggable("domainconfiguration")
def _configuration_exists(backend: Backend, resource_id: str) -> bool:
    # ARNs end in `domainconfiguration/<name>/<suffix>`.
    name = resource_id.split("/", 1)[0]
    found = _configurations(backend).get(name)
    return found is not None and found.arn.endswith(f"/{resource_id}")


def _check_authorizer_config(backend: Backend, config: dict[str, Any] | None) -> None:
    name = (config or {}).get("defaultAuthorizerName")
    if name is not None and not authorizer_exists(backend, name):
        raise invalid_request(
            f"authorizerConfig.defaultAuthorizerName {name} is not an authorizer of this "
            "account; create it with CreateAuthorizer first."
        )


def _security_policy(tls_config: dict[str, Any] | None, current: str) -> str:
    policy: str | None = (tls_config or {}).get("securityPolicy")
    if policy is None:
        return current
    if policy not in SECURITY_POLICIES:
        raise invalid_request(
            f"tlsConfig.securityPolicy {policy} is not a supported security policy. "
            f"Supported: {', '.join(sorted(SECURITY_POLICIES))}."
        )
    return policy


def _authorizer_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    # allowAuthorizerOverride defaults to false (API:AuthorizerConfig).
    return {"allowAuthorizerOverride": False, **config}


def _aws_managed_domain_name(backend: Backend, name: str, service_type: str) -> str:
    prefix = endpoint_prefix(backend, f"domainconfiguration:{name}")
    host = {
        "DATA": f"{prefix}-ats.iot",
        "CREDENTIAL_PROVIDER": f"{prefix}.credentials.iot",
        "JOBS": f"{prefix}.jobs.iot",
    }[service_type]
    return f"{host}.{backend.region}.amazonaws.com"


def _description(c: DomainConfiguration) -> dict[str, Any]:
    return {
        **_summary(c),
        "domainName": c.domain_name,
        "serverCertificates": [
            {
                "serverCertificateArn": arn,
                "serverCertificateStatus": "VALID",
                "serverCertificateStatusDetail": "",
            }
            for arn in c.server_certificate_arns
        ],
        "authorizerConfig": c.authorizer_config,
        "domainConfigurationStatus": c.status,
        "domainType": c.domain_type,
        "lastStatusChangeDate": c.last_status_change,
        "tlsConfig": {"securityPolicy": c.security_policy},
        "serverCertificateConfig": c.server_certificate_config,
        "authenticationType": c.authentication_type,
        "applicationProtocol": c.application_protocol,
        "clientCertificateConfig": c.client_certificate_config,
    }


def _identity(c: DomainConfiguration) -> dict[str, Any]:
    return {"domainConfigurationName": c.name, "domainConfigurationArn": c.arn}


def _summary(c: DomainConfiguration) -> dict[str, Any]:
    return {**_identity(c), "serviceType": c.service_type}


def _random_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


CONFIGURATIONS: crud.ResourceKind[DomainConfiguration] = crud.ResourceKind(
    label="Domain configuration",
    arn_type="domainconfiguration",
    index=_configurations,
    describe=_description,
    summary=_summary,
    list_member="domainConfigurations",
    paging=crud.MARKERS,
    missing="{label} {name} cannot be found.",
    # ARNs end in `domainconfiguration/<name>/<suffix>`: tagging is declared above.
    arn_id=lambda name: f"{name}/{_random_suffix()}",
    taggable=False,
)
get_configuration = CONFIGURATIONS.get


@operation("iot", "CreateDomainConfiguration")
def create_domain_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["domainConfigurationName"]

    def build(arn: str, now: float) -> DomainConfiguration:
        # The default endpoints' configurations do not count against the quota.
        if len(_configurations(backend)) - len(_DEFAULT_ENDPOINTS) >= MAX_DOMAIN_CONFIGURATIONS:
            raise limit_exceeded(
                f"An account can have at most {MAX_DOMAIN_CONFIGURATIONS} domain "
                "configurations in a region."
            )
        domain_name = params.get("domainName")
        server_certificates = list(params.get("serverCertificateArns") or [])
        service_type = params.get("serviceType") or "DATA"
        if domain_name is None:
            if server_certificates or params.get("validationCertificateArn"):
                raise invalid_request(
                    "serverCertificateArns and validationCertificateArn apply only to "
                    "customer-managed domains: give the domainName as well."
                )
            domain_name = _aws_managed_domain_name(backend, name, service_type)
            domain_type = "AWS_MANAGED"
        else:
            if not server_certificates:
                raise invalid_request(
                    f"The customer-managed domain {domain_name} needs its server certificate: "
                    "give serverCertificateArns (one ACM certificate ARN)."
                )
            domain_type = "CUSTOMER_MANAGED"
        _check_authorizer_config(backend, params.get("authorizerConfig"))
        return DomainConfiguration(
            name=name,
            arn=arn,
            domain_name=domain_name,
            domain_type=domain_type,
            service_type=service_type,
            status="ENABLED",
            last_status_change=now,
            server_certificate_arns=server_certificates,
            validation_certificate_arn=params.get("validationCertificateArn"),
            authorizer_config=_authorizer_config(params.get("authorizerConfig")),
            security_policy=_security_policy(params.get("tlsConfig"), DEFAULT_SECURITY_POLICY),
            server_certificate_config=params.get("serverCertificateConfig"),
            authentication_type=params.get("authenticationType") or "DEFAULT",
            application_protocol=params.get("applicationProtocol") or "DEFAULT",
            client_certificate_config=params.get("clientCertificateConfig"),
        )

    configuration = crud.create(CONFIGURATIONS, backend, name, build, params.get("tags"))
    return _identity(configuration)


@operation("iot", "DescribeDomainConfiguration")
def describe_domain_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(CONFIGURATIONS, ctx.backend, params["domainConfigurationName"])


# UpdateDomainConfiguration members set as given -> DomainConfiguration attributes.
_UPDATABLE = {
    "serverCertificateConfig": "server_certificate_config",
    "authenticationType": "authentication_type",
    "applicationProtocol": "application_protocol",
    "clientCertificateConfig": "client_certificate_config",
}


@operation("iot", "UpdateDomainConfiguration")
def update_domain_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    c = get_configuration(backend, params["domainConfigurationName"])
    if c.domain_type == "ENDPOINT":
        raise invalid_request(
            f"{c.name} is the configuration of a default endpoint; domain configurations for "
            "default endpoints can't be updated."
        )
    authorizer_config = params.get("authorizerConfig")
    if params.get("removeAuthorizerConfig"):
        if authorizer_config is not None:
            raise invalid_request(
                "You cannot give both authorizerConfig and removeAuthorizerConfig."
            )
        c.authorizer_config = None
    elif authorizer_config is not None:
        _check_authorizer_config(backend, authorizer_config)
        c.authorizer_config = _authorizer_config(authorizer_config)
    c.security_policy = _security_policy(params.get("tlsConfig"), c.security_policy)
    status = params.get("domainConfigurationStatus")
    if status is not None and status != c.status:
        c.status = status
        c.last_status_change = clock.now()
    # The model has no last-modified date: only a status change is dated.
    crud.apply(c, crud.changes(params, _UPDATABLE), stamp=None)
    return _identity(c)


@operation("iot", "DeleteDomainConfiguration")
def delete_domain_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def check(c: DomainConfiguration) -> None:
        if c.status != "DISABLED":
            raise invalid_request(
                f"Domain configuration {c.name} is ENABLED. Disable it with "
                "UpdateDomainConfiguration (domainConfigurationStatus DISABLED) before "
                "deleting it."
            )

    crud.delete(CONFIGURATIONS, ctx.backend, params["domainConfigurationName"], check)
    return {}


@operation("iot", "ListDomainConfigurations")
def list_domain_configurations(ctx: RequestContext, params: Params) -> dict[str, Any]:
    service_type = params.get("serviceType")
    return crud.list_page(
        CONFIGURATIONS,
        ctx,
        params,
        descending=params.get("ascendingOrder") is False,
        keep=(lambda c: c.service_type == service_type) if service_type else None,
        scope=str(service_type),
    )
