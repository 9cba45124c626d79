"""Device management: streams, OTA updates, commands and command executions, software
packages and versions."""
