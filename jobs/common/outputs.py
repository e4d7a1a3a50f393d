"""What a job writes into the graph, declared once in its runner (``OUTPUTS`` in ``jobs/<job>/job.py``).

A declaration names every relationship type, created node label, property set on existing nodes
and schema index a job writes, each property key included (``run_id`` too, which
:class:`graph.writeback.RunWriter` adds to every result).  The runner hands the relationship
types and labels to its ``RunWriter``, which refuses to write anything else, and the shared
contract test (``tests/graph/test_job_contract.py``) compares the graph before and after a run
with the declaration.  The run writer's own bookkeeping (``JobRun`` and ``JobLock`` nodes) is
not an output of any job.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.schema import check_label, check_property, check_relationship_type


@dataclass(frozen=True)
class RelationshipOutput:
    """Relationships ``(:start)-[:type {properties}]->(:end)`` a job creates.

    Attributes:
        type: the relationship type, e.g. ``"SUGGESTED_FRIEND"``.
        start: the label of the start node.
        end: the label of the end node.
        properties: every property key the job sets on them.
        suggestion: whether each relationship is one ranked suggestion, carrying ``run_id``,
            ``score``, ``rank`` (1..n per start node, best first) and ``reason``.
    """

    type: str
    start: str
    end: str
    properties: tuple[str, ...]
    suggestion: bool = False

    def __post_init__(self) -> None:
        check_relationship_type(self.type)
        check_label(self.start)
        check_label(self.end)
        for key in self.properties:
            check_property(key)
        if self.suggestion and not {"run_id", "score", "rank", "reason"} <= set(self.properties):
            raise ValueError(f"suggestions {self.type} must carry run_id, score, rank and reason")


@dataclass(frozen=True)
class NodeOutput:
    """Nodes of ``label`` and the property keys a job sets on them.

    Attributes:
        label: the node label, e.g. ``"Community"``.
        properties: every property key the job sets.
    """

    label: str
    properties: tuple[str, ...]

    def __post_init__(self) -> None:
        check_label(self.label)
        for key in self.properties:
            check_property(key)


@dataclass(frozen=True)
class JobOutputs:
    """Everything one job writes into the graph.

    Attributes:
        job: the job's name, as its ``JobRun`` nodes record it.
        relationships: relationships it creates.
        nodes: nodes it creates (with every key it sets, the label's key property included).
        node_properties: properties it sets on nodes it does not create, e.g. ``Post.sentiment``.
        indexes: names of the schema indexes it creates, e.g. the vector index ``post_embedding``.
    """

    job: str
    relationships: tuple[RelationshipOutput, ...] = ()
    nodes: tuple[NodeOutput, ...] = ()
    node_properties: tuple[NodeOutput, ...] = ()
    indexes: tuple[str, ...] = ()

    @property
    def relationship_types(self) -> list[str]:
        """Returns the relationship types it creates, for :class:`graph.writeback.RunWriter`."""
        return [r.type for r in self.relationships]

    @property
    def node_labels(self) -> list[str]:
        """Returns the labels of the nodes it creates, for :class:`graph.writeback.RunWriter`."""
        return [n.label for n in self.nodes]

    @property
    def suggestions(self) -> list[RelationshipOutput]:
        """Returns the relationships that hold its ranked suggestions (see :class:`RelationshipOutput`)."""
        return [r for r in self.relationships if r.suggestion]

    def relationship_keys(self, rel_type: str) -> frozenset[str]:
        """Returns the property keys it sets on ``rel_type`` relationships (empty when it creates none)."""
        return frozenset(key for r in self.relationships if r.type == rel_type for key in r.properties)

    def node_keys(self, label: str) -> frozenset[str]:
        """Returns the property keys it sets on nodes of ``label``, created or existing (empty when none)."""
        return frozenset(key for n in (*self.nodes, *self.node_properties) if n.label == label for key in n.properties)
