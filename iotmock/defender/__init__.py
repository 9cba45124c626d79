"""Device Defender detect: security profiles, behaviors, metrics and dimensions,
violations, mitigation actions and detect mitigation tasks."""
