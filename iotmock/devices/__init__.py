"""Devices: MQTT client sessions (simulated in-process devices and, through the same
session layer, real MQTT connections) and the device protocols (lifecycle events,
fleet provisioning by claim, just-in-time registration and provisioning)."""
