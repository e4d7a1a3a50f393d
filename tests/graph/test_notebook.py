"""notebooks/explore_communities.ipynb: committed without outputs, and it runs against a graph with results.

The graph is the ``results`` fixture of tests/conftest.py: 200 synthetic users
after ingest, embed and every job.  The notebook runs in a real Jupyter kernel (nbclient) whose
environment names the test server, with matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from graph.store import GraphStore

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore_communities.ipynb"

# Appended to the notebook in the test only: reports what the figure holds.
PROBE = """
import json
from matplotlib.collections import PathCollection
import matplotlib
drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))
print(json.dumps({
    "backend": matplotlib.get_backend(), "axes": len(fig.axes), "nodes": drawn, "members": len(ids),
    "edges": subgraph.number_of_edges(), "community": int(largest["community"]),
    "top_posts": len(top_posts), "suggestions": len(suggestions), "reasons": int(suggestions["reason"].str.len().gt(0).sum()),
}))
"""


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_the_notebook_draws_the_largest_community_from_the_job_results(
    results: GraphStore, tmp_path: Path
) -> None:
    conn = results.connection
    env = {
        **os.environ,
        "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password,
        "MPLBACKEND": "Agg",
        # The kernel imports this checkout, whichever sociograph an editable install points at.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(new_code_cell(PROBE))
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "execute_result" and "text/html" in o.data for o in outputs), "tables were shown"
    report = json.loads(notebook.cells[-1].outputs[-1].text)

    largest = results.read(
        "MATCH (run:JobRun {job: 'communities', current: true}) MATCH (c:Community {run_id: run.id}) "
        "RETURN c.index AS index, c.size AS size ORDER BY size DESC, index LIMIT 1"
    )[0]
    follows = results.read(
        "MATCH (run:JobRun {job: 'communities', current: true}) "
        "MATCH (c:Community {run_id: run.id, index: $index})<-[:IN_COMMUNITY {run_id: run.id}]-(a:User) "
        "MATCH (a)-[:FOLLOWS]->(b:User)-[:IN_COMMUNITY {run_id: run.id}]->(c) RETURN count(*) AS n",
        {"index": largest["index"]},
    )[0]["n"]
    assert report["backend"].lower() == "agg"
    assert report["community"] == largest["index"]
    assert report["nodes"] == report["members"] == largest["size"], "every member is drawn"
    assert report["edges"] == follows > 0
    assert report["axes"] == 2, "the sentiment colour bar was drawn (members have sentiment)"
    assert report["top_posts"] > 0
    assert report["suggestions"] > 0 and report["reasons"] == report["suggestions"]
