"""Certificate providers: CreateCertificateProvider, DescribeCertificateProvider,
UpdateCertificateProvider, DeleteCertificateProvider, ListCertificateProviders.

A provider names the Lambda function that signs fleet-provisioning CSRs (the MQTT
CreateCertificateFromCsr API). The mock stores it and never invokes it; the control-plane
CreateCertificateFromCsr keeps signing with the mock CA, as in AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, limit_exceeded, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import paginate
from iotmock.identity.records import CertificateProvider, ProviderStore

# AWS IoT quota: one certificate provider per account.
MAX_PROVIDERS = 1


@tagging.taggable("certificateprovider")
def _provider_exists(backend: Backend, resource_id: str) -> bool:
    return resource_id in backend.store(ProviderStore).providers


def _get(backend: Backend, name: str) -> CertificateProvider:
    provider = backend.store(ProviderStore).providers.get(name)
    if provider is None:
        raise not_found(f"The certificate provider {name} does not exist.")
    return provider


def _identity(provider: CertificateProvider) -> dict[str, Any]:
    return {"certificateProviderName": provider.name, "certificateProviderArn": provider.arn}


@operation("iot", "CreateCertificateProvider")
def create_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    providers = backend.store(ProviderStore).providers
    name = params["certificateProviderName"]
    token = params.get("clientToken")
    existing = providers.get(name)
    if existing is not None:
        # A retry with the same client token is answered as the first call was.
        if token and existing.client_token == token:
            return _identity(existing)
        raise already_exists(f"The certificate provider {name} already exists.", name, existing.arn)
    if len(providers) >= MAX_PROVIDERS:
        raise limit_exceeded(
            f"An account can have at most {MAX_PROVIDERS} certificate provider; "
            "delete the existing one first."
        )
    now = clock.now()
    provider = CertificateProvider(
        name=name,
        arn=backend.arn(f"certificateprovider/{name}"),
        lambda_function_arn=params["lambdaFunctionArn"],
        account_default_for_operations=list(params["accountDefaultForOperations"]),
        created_at=now,
        last_modified_at=now,
        client_token=token,
    )
    tagging.tag_on_create(backend, provider.arn, params.get("tags"))
    providers[name] = provider
    return _identity(provider)


@operation("iot", "DescribeCertificateProvider")
def describe_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    provider = _get(ctx.backend, params["certificateProviderName"])
    return {
        **_identity(provider),
        "lambdaFunctionArn": provider.lambda_function_arn,
        "accountDefaultForOperations": list(provider.account_default_for_operations),
        "creationDate": provider.created_at,
        "lastModifiedDate": provider.last_modified_at,
    }


@operation("iot", "UpdateCertificateProvider")
def update_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    provider = _get(ctx.backend, params["certificateProviderName"])
    if params.get("lambdaFunctionArn"):
        provider.lambda_function_arn = params["lambdaFunctionArn"]
    if params.get("accountDefaultForOperations"):
        provider.account_default_for_operations = list(params["accountDefaultForOperations"])
    provider.last_modified_at = clock.now()
    return _identity(provider)


@operation("iot", "DeleteCertificateProvider")
def delete_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    provider = _get(backend, params["certificateProviderName"])
    backend.store(ProviderStore).providers.pop(provider.name)
    tagging.drop(backend, provider.arn)
    return {}


@operation("iot", "ListCertificateProviders")
def list_certificate_providers(ctx: RequestContext, params: Params) -> dict[str, Any]:
    providers = ctx.backend.store(ProviderStore).providers
    # Names in ascending or descending alphabetical order; the quota keeps this list at a
    # single provider, so walking it in reverse costs nothing.
    ascending = bool(params.get("ascendingOrder"))
    names = list(providers) if ascending else list(reversed(list(providers)))

    def source(after: str | None) -> Iterator[tuple[str, CertificateProvider]]:
        for name in names:
            if after is None or (name > after if ascending else name < after):
                yield name, providers[name]

    page, token = paginate(
        f"ListCertificateProviders:{ascending}", source, params.get("nextToken"), None
    )
    return {"certificateProviders": [_identity(p) for p in page], "nextToken": token}
