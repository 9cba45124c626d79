"""The wire core: the botocore model, routing, decoding, validation, encoding, dispatch,
interception, paging, the clock, events between families, errors and the per-(account,
region) backend. It imports no family."""
