"""The domain layer: the identity rules, spoken to the graph through identity.graph only.
Its modules are listed, lowest first, in identity/__init__.py's drawing."""
