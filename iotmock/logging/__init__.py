"""Logging options (v1 and v2) and event configurations, with the registry and job event
messages they turn on."""
