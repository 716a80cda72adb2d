"""Backend profiles: the rules of the graph a traversal will meet in production.

The default profile is TinkerGraph's. The Neptune profile enforces Amazon Neptune's documented
Gremlin differences, so that code which passes against the local engine passes on Neptune:

- user-supplied ids must be strings (Neptune generates UUID strings itself);
- vertex properties default to ``set`` cardinality and ``list`` cardinality is rejected;
- no meta-properties (properties on vertex properties), no user-supplied vertex property ids;
- property values must be scalars: no maps, lists or sets as values;
- no lambdas (rejected by the compiler for every profile);
- elements come back as references: id and label, never materialized properties;
- no call() services (Neptune documents none): a named call() is an unknown service.
"""

from __future__ import annotations

from typing import Any

from ..errors import NeptuneProfileError
from ..storage import VertexPropertyRecord
from .services import ServiceRegistry, tinkergraph_services
from .tokens import token_name

__all__ = ["Profile", "TINKERGRAPH", "NEPTUNE", "profile_named"]


class Profile:
    name = "tinkergraph"
    default_cardinality = "single"
    #: addV().property(k, v1).property(k, v2): TinkerGraph attaches addV's properties as a list
    add_vertex_cardinality = "list"
    id_kind = "int"
    references_only = False

    def check_new_element(self, id: Any, label: Any) -> None:
        return None

    def service_registry(self) -> Any:
        """The services call() finds on a new graph: TinkerGraph's (tinker.search,
        tinker.degree.centrality), as TinkerPop's test configuration registers them."""
        return ServiceRegistry(tinkergraph_services())

    def check_property(self, element: Any, key: str, value: Any, cardinality: str | None, meta: dict) -> None:
        return None


class NeptuneProfile(Profile):
    name = "neptune"
    default_cardinality = "set"
    add_vertex_cardinality = "set"
    id_kind = "uuid"
    references_only = True

    def service_registry(self) -> Any:
        """None: Neptune documents no call() services, so a named call() is refused as an
        unknown service (listing them gives nothing)."""
        return ServiceRegistry(unknown_error=_unknown_on_neptune)

    def check_new_element(self, id: Any, label: Any) -> None:
        if id is not None and not isinstance(id, str):
            raise NeptuneProfileError(
                f"Neptune accepts only string ids; got {type(id).__name__} {id!r} (use str ids)")
        if not isinstance(label, str) or not label:
            raise NeptuneProfileError("Neptune needs a non-empty string label")

    def check_property(self, element: Any, key: str, value: Any, cardinality: str | None, meta: dict) -> None:
        if cardinality == "list":
            raise NeptuneProfileError("Neptune does not support list cardinality (use set or single)")
        if any(token_name(meta_key) == "id" for meta_key in meta):
            raise NeptuneProfileError("Neptune does not support user-supplied vertex property ids")
        if meta or isinstance(element, VertexPropertyRecord):
            raise NeptuneProfileError("Neptune does not support meta-properties")
        if isinstance(value, (dict, list, set, tuple, frozenset)):
            raise NeptuneProfileError(
                f"Neptune does not support {type(value).__name__} property values (property {key!r})")


def _unknown_on_neptune(message: str) -> NeptuneProfileError:
    return NeptuneProfileError(f"{message} (Neptune offers none of TinkerGraph's call() services)")


TINKERGRAPH = Profile()
NEPTUNE = NeptuneProfile()


def profile_named(name: str | None) -> Profile:
    if name in (None, "", "tinkergraph"):
        return TINKERGRAPH
    if name == "neptune":
        return NEPTUNE
    raise ValueError(f"Unknown graph profile {name!r}: expected 'tinkergraph' or 'neptune'")
