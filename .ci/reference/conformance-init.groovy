// Init script for the reference Gremlin Server the conformance runner starts
// (python -m gremlin.conformance --url reference). The runner loads each standard graph itself,
// through ordinary traversals, so all this script does is bind the traversal source "g" to the
// server's one graph (named "graph" in its configuration). The services call() scenarios use are
// registered by the graph's properties (tinkergraph-conformance.properties).
[g: traversal().withEmbedded(graph)]
