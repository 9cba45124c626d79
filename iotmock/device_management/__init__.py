"""Device management: streams and their MQTT-based file delivery, OTA updates, commands
and command executions, software packages and versions."""
