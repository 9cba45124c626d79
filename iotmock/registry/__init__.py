"""The thing registry: things, thing types, static thing groups, billing groups, the
thing-principal relation and bulk thing registration."""
