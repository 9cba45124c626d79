"""`m.authorizers` and `m.certificates`: what a test does with custom authorizers and
certificates besides the AWS API."""

from __future__ import annotations

from iotmock.core.mock_api import FamilyApi
from iotmock.identity.authorizers import AuthorizerHandler, register_handler
from iotmock.identity.crypto import mock_ca


class AuthorizersApi(FamilyApi):
    """The Lambda functions behind custom authorizers."""

    def register(
        self,
        authorizer: str,
        handler: AuthorizerHandler,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Answer TestInvokeAuthorizer for a custom authorizer with `handler`, where AWS
        would invoke the authorizer's Lambda function.

        `authorizer` is an authorizer name, or a Lambda function ARN to serve every
        authorizer using that function (a name registration wins). `handler` receives the
        event AWS sends the Lambda (`token`, `signatureVerified`, `protocols`,
        `protocolData`, `connectionMetadata`) and returns the Lambda's response
        (`isAuthenticated`, `principalId`, `policyDocuments`, `disconnectAfterInSeconds`,
        `refreshAfterInSeconds`); see docs/identity-policies.md. Register after the mock
        has started: starting it again forgets all state.

        A name is registered for the mock's account and region, a function ARN for the
        account and region it names (unless `account_id` / `region` are given).
        Registering is not activity: readers there still warn while nothing happened.
        """
        with self._mock.lock:
            backend = self._setup_for_function(authorizer, account_id, region)
            register_handler(backend, authorizer, handler)


class CertificatesApi(FamilyApi):
    """The mock certificate authority."""

    def ca_pem(self, account_id: str | None = None, region: str | None = None) -> str:
        """The PEM of the mock CA that signs the AWS-issued certificates
        (CreateKeysAndCertificate, CreateCertificateFromCsr, provisioning) of an account
        and region (defaults: the mock's own). It is the same for every mock of the
        process, so tests may verify chains with it. Warns (IotMockWarning) when nothing
        happened in that account and region while others hold state: their
        certificates chain to another CA."""
        self._look(account_id, region, "m.certificates.ca_pem()")
        return mock_ca(account_id or self._mock.account_id, region or self._mock.region).pem
