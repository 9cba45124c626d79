"""Real devices: the MQTT endpoint device SDKs connect to (`iotmock.devices.mqtt`)."""
