"""The MQTT message path: the log of every message, topic matching, iot-data Publish,
retained messages and client connections."""
