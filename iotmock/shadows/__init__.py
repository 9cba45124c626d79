"""Device shadows: the document engine (state, delta, metadata, versions) and the
iot-data shadow operations and MQTT shadow topics."""
