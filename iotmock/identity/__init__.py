"""Identity and access: certificates (AWS-issued, registered, CA-signed), CA certificates,
certificate providers and transfers, policies and their attachments, the authorization
engine, custom authorizers, role aliases, domain configurations, endpoints, encryption
configuration and fleet provisioning (templates, RegisterThing)."""
