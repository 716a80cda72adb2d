"""The bottom layer: what every other layer may use and which uses none of them.

- errors: the errors every layer raises (identity.base.errors draws their hierarchy);
- telemetry: traces and metrics (the graph connection records each request with them).
"""
