"""Certificate providers: CreateCertificateProvider, DescribeCertificateProvider,
UpdateCertificateProvider, DeleteCertificateProvider, ListCertificateProviders.

A provider names the Lambda function that signs fleet-provisioning CSRs (the MQTT
CreateCertificateFromCsr API). The mock stores it and never invokes it; the control-plane
CreateCertificateFromCsr keeps signing with the mock CA, as in AWS.
"""

from __future__ import annotations

from typing import Any

from iotmock.core import clock, crud
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.records import CertificateProvider, ProviderStore

# AWS IoT quota: one certificate provider per account.
MAX_PROVIDERS = 1


def _identity(provider: CertificateProvider) -> dict[str, Any]:
    return {"certificateProviderName": provider.name, "certificateProviderArn": provider.arn}


def _description(provider: CertificateProvider) -> dict[str, Any]:
    return {
        **_identity(provider),
        "lambdaFunctionArn": provider.lambda_function_arn,
        "accountDefaultForOperations": list(provider.account_default_for_operations),
        "creationDate": provider.created_at,
        "lastModifiedDate": provider.last_modified_at,
    }


PROVIDERS: crud.ResourceKind[CertificateProvider] = crud.ResourceKind(
    label="The certificate provider",
    arn_type="certificateprovider",
    index=lambda backend: backend.store(ProviderStore).providers,
    describe=_description,
    summary=_identity,
    list_member="certificateProviders",
    quota=MAX_PROVIDERS,
    quota_message=(
        "An account can have at most {quota} certificate provider; delete the existing one first."
    ),
)


@operation("iot", "CreateCertificateProvider")
def create_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["certificateProviderName"]
    token = params.get("clientToken")

    def build(arn: str, now: float) -> CertificateProvider:
        return CertificateProvider(
            name=name,
            arn=arn,
            lambda_function_arn=params["lambdaFunctionArn"],
            account_default_for_operations=list(params["accountDefaultForOperations"]),
            created_at=now,
            last_modified_at=now,
            client_token=token,
        )

    provider = crud.create(
        PROVIDERS,
        ctx.backend,
        name,
        build,
        params.get("tags"),
        # A retry with the same client token is answered as the first call was.
        retry=lambda existing: bool(token) and existing.client_token == token,
    )
    return _identity(provider)


@operation("iot", "DescribeCertificateProvider")
def describe_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(PROVIDERS, ctx.backend, params["certificateProviderName"])


@operation("iot", "UpdateCertificateProvider")
def update_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    provider = PROVIDERS.get(ctx.backend, params["certificateProviderName"])
    if params.get("lambdaFunctionArn"):
        provider.lambda_function_arn = params["lambdaFunctionArn"]
    if params.get("accountDefaultForOperations"):
        provider.account_default_for_operations = list(params["accountDefaultForOperations"])
    provider.last_modified_at = clock.now()
    return _identity(provider)


@operation("iot", "DeleteCertificateProvider")
def delete_certificate_provider(ctx: RequestContext, params: Params) -> dict[str, Any]:
    crud.delete(PROVIDERS, ctx.backend, params["certificateProviderName"])
    return {}


@operation("iot", "ListCertificateProviders")
def list_certificate_providers(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Names in descending alphabetical order unless the request sets ascendingOrder.
    ascending = bool(params.get("ascendingOrder"))
    return crud.list_page(PROVIDERS, ctx, params, descending=not ascending)
