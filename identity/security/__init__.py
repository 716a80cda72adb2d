"""The security layer: who a caller is and how PII is kept, without reaching the graph.

- protect: the seam every stored PII value goes through (sealing, blind indexes);
- keys/: the key hierarchy behind it (KEK providers, per-tenant key rings);
- tenants: the tenant registry (home region, guard settings changed by the API, API key hashes);
- auth: API keys, checked against the registry;
- files: the private files the registry and the key rings are kept in.
"""
