"""The process-wide identity state a snapshot carries: the mock CAs that sign AWS-issued
certificates (one per account and region) and the key pool those certificates' keys come
from. Restored in another process, they make restored certificates verify against
`m.certificates.ca_pem()` and keep the private keys a test saved matching."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iotmock.core.snapshot import private_pem, process_state
from iotmock.identity import crypto


def _dump(keys: list[tuple[str, str]]) -> dict[str, Any]:
    with crypto._MOCK_CA_LOCK:
        cas = {key: crypto._MOCK_CAS[key] for key in keys if key in crypto._MOCK_CAS}
    with crypto._POOL_LOCK:
        pool = [entry.private_pem for entry in crypto._POOL]
    return {
        "mock_cas": [
            {"account_id": a, "region": r, "key": private_pem(ca.key), "certificate": ca.pem}
            for (a, r), ca in sorted(cas.items())
        ],
        "key_pool": pool,
    }


def _load(state: dict[str, Any]) -> None:
    # Everything is parsed before anything changes, so a bad entry changes nothing.
    cas = {}
    for entry in state.get("mock_cas", []):
        key = serialization.load_pem_private_key(entry["key"].encode(), None)
        cert = x509.load_pem_x509_certificate(entry["certificate"].encode())
        cas[(entry["account_id"], entry["region"])] = crypto.CertificateAuthority(
            key=key,  # type: ignore[arg-type]
            certificate=cert,
            pem=entry["certificate"],
        )
    pool = []
    for pem in state.get("key_pool", []):
        pooled = serialization.load_pem_private_key(pem.encode(), None)
        if isinstance(pooled, rsa.RSAPrivateKey):
            pool.append(
                crypto.PooledKey(
                    key=pooled,
                    private_pem=pem,
                    public_pem=crypto.public_key_pem(pooled.public_key()),
                )
            )
    # The snapshot's CA replaces this process's CA of the same account and region: the
    # restored certificates were signed by it.
    with crypto._MOCK_CA_LOCK:
        crypto._MOCK_CAS.update(cas)
    # A pool not yet filled in this process takes the snapshot's keys, so certificates
    # issued after the restore share keys with the restored ones, as before.
    with crypto._POOL_LOCK:
        if not crypto._POOL:
            crypto._POOL.extend(pool)


process_state(__name__, _dump, _load)
