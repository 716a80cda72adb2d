"""Gremlin text to gremlinpython Bytecode.

``parse('g.V().has("name","marko").out("knows")')`` returns the Bytecode gremlinpython builds
for ``g.V().has('name','marko').out('knows')``. The syntax is gremlin-language's (the grammar
of Gremlin Server, the Console, Amazon Neptune and TinkerPop's Gherkin scenarios); lambdas
are refused, as Neptune refuses them.
"""

from __future__ import annotations

from ..errors import GremlinSyntaxError
from .parser import Query, parse, parse_query

__all__ = ["parse", "parse_query", "Query", "GremlinSyntaxError"]
