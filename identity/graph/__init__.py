"""The graph connection layer: the one place that knows where the graph is and how to survive it.

- connection: a URL in, a GraphTraversalSource out (the only module that imports the engine);
- resilience: retries with backoff, the circuit breaker, the per-request deadline;
- regions: which region's graph serves a tenant (data residency);
- group_commit: concurrent writers of one tenant handing their items to one writer.
"""
