"""Device Defender audit: account audit configuration, audit checks, on-demand and
scheduled audits, findings, suppressions and audit mitigation."""
