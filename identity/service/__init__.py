"""The service layer: what runs the domain for callers and operators.

- rpc/: the JSON-RPC API over HTTP, and ``serve`` (with the Gremlin console endpoint);
- cli: the ``identity`` command; client: Python clients of the API;
- config, settings: the deployment's configuration and each tenant's guard settings;
- console_access: who may use the Gremlin console endpoint, and what each one sees;
- offboarding, reencrypt, export: jobs an operator runs on a tenant's graph.
"""
