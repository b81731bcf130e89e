"""The network view without a server: Louvain against known partitions and networkx, the radial
layout's known positions, sizes and colours, the standalone HTML file (its CSP hashes allow
exactly its two scripts) and PNG, and ``discovery graph``."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.cli import main
from discovery.engine import Engine
from discovery.web.assets import graph_library_path
from discovery.web.communities import louvain, modularity
from discovery.web.network import (
    CENTRE,
    OTHER,
    PALETTE,
    network_svg,
    network_view,
    node_posts,
    radial_layout,
)
from e2e.hostile import BAD_HANDLE, add_hostile
from worlds import build_known_world

nx = pytest.importorskip("networkx")


def run(args: list[str]) -> int:
    """``discovery ARGS`` in-process; its exit status."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


# ------------------------------------------------------------- communities
def test_two_cliques_joined_by_one_edge_are_two_communities() -> None:
    a = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    b = [(i + 5, j + 5) for i, j in a]
    labels = louvain(10, [*a, *b, (4, 5)])
    assert labels.tolist() == [0] * 5 + [1] * 5


def test_disjoint_triangles_and_isolated_nodes() -> None:
    edges = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]
    assert louvain(8, edges).tolist() == [0, 0, 0, 1, 1, 1, 2, 3]
    assert louvain(3, []).tolist() == [0, 1, 2]


def _nx_graph(n: int, edges: list[tuple[int, int]]) -> object:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i, j in edges:
        if i != j:
            w = g[i][j]["weight"] + 1 if g.has_edge(i, j) else 1
            g.add_edge(i, j, weight=w)
    return g


def _parts(labels: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]


@settings(max_examples=25, deadline=None)
@given(
    st.integers(4, 30).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=90),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
        )
    )
)
def test_modularity_matches_networkx(case: tuple[int, list, list]) -> None:
    n, edges, partition = case
    g = _nx_graph(n, edges)
    labels = np.array(partition)
    if g.number_of_edges() == 0:
        assert modularity(n, edges, labels) == 0.0
        return
    expected = nx.community.modularity(g, _parts(labels), weight="weight")
    assert modularity(n, edges, labels) == pytest.approx(expected, abs=1e-12)
    found = louvain(n, edges)
    ours = modularity(n, edges, found)
    # a local optimum: never worse than every node alone or everything together
    assert ours >= modularity(n, edges, np.arange(n)) - 1e-12
    assert ours >= modularity(n, edges, np.zeros(n, dtype=int)) - 1e-12


def test_louvain_finds_planted_communities_as_well_as_networkx() -> None:
    rng = np.random.default_rng(7)
    sizes = [12, 10, 8, 6]
    block = np.repeat(np.arange(4), sizes)
    n = len(block)
    edges = [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if rng.random() < (0.6 if block[i] == block[j] else 0.03)
    ]
    ours = louvain(n, edges)
    assert sorted(np.bincount(ours).tolist()) == sorted(sizes)
    g = _nx_graph(n, edges)
    best = max(
        nx.community.modularity(g, nx.community.louvain_communities(g, seed=s), weight="weight")
        for s in range(5)
    )
    assert modularity(n, edges, ours) >= best - 1e-9
    assert louvain(n, edges).tolist() == ours.tolist()  # deterministic


# ------------------------------------------------------------------ layout
def test_radial_layout_known_positions() -> None:
    nodes = [{"id": 0, "hop": 0, "ppr": 1.0, "community": -1}]
    nodes += [{"id": i, "hop": 1, "ppr": 1.0 / i, "community": 0} for i in (1, 2, 3, 4)]
    nodes += [{"id": 9, "hop": 2, "ppr": 0.01, "community": 1}]
    pos = radial_layout(nodes, [{"source": 2, "target": 9}])
    expected = {0: (0, 0), 1: (0, -1), 2: (1, 0), 3: (0, 1), 4: (-1, 0), 9: (2, 0)}
    for k, (x, y) in expected.items():
        assert pos[k] == pytest.approx((x, y), abs=1e-6), k
    # the outer node sits at the angle of its only inner neighbour (node 2, at 90°)


def test_outer_ring_blocks_line_up_with_their_community() -> None:
    nodes = [{"id": 0, "hop": 0, "ppr": 1.0, "community": -1}]
    nodes += [{"id": i, "hop": 1, "ppr": 0.5, "community": 0 if i <= 2 else 1} for i in range(1, 5)]
    nodes += [{"id": 10 + i, "hop": 2, "ppr": 0.1, "community": 1} for i in range(4)]
    pos = radial_layout(nodes, [])
    inner = [math.atan2(pos[i][0], -pos[i][1]) % (2 * math.pi) for i in (3, 4)]
    outer = [math.atan2(pos[10 + i][0], -pos[10 + i][1]) % (2 * math.pi) for i in range(4)]
    mean = lambda a: math.atan2(sum(map(math.sin, a)), sum(map(math.cos, a)))  # noqa: E731
    assert abs((mean(outer) - mean(inner) + math.pi) % (2 * math.pi) - math.pi) < 1e-9
    assert all(math.hypot(*pos[10 + i]) == pytest.approx(2) for i in range(4))


# -------------------------------------------------------------------- view
@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "net.db"
    build_known_world(path).close()
    add_hostile(path)
    return path


def test_network_view_sizes_colours_and_posts(hostile_db: Path) -> None:
    engine = Engine.open(hostile_db)
    graph = engine.ego_network("me")
    posts = node_posts(engine, [n["id"] for n in graph["nodes"]], 2)
    view = network_view(graph, posts, lambda image: None)
    by_handle = {n["handle"]: n for n in view["nodes"]}
    me = by_handle["me"]
    assert (me["x"], me["y"], me["size"], me["color"], me["community"]) == (0, 0, 50.0, CENTRE, -1)
    others = [n for n in view["nodes"] if n["hop"] > 0]
    top = max(others, key=lambda n: n["ppr"])
    assert top["size"] == pytest.approx(42.0)
    for n in others:
        expected = 12 + 30 * math.sqrt(n["ppr"] / top["ppr"])
        assert n["size"] == pytest.approx(expected, abs=0.01)
        assert n["color"] in (*PALETTE, OTHER)
        assert math.hypot(n["x"], n["y"]) == pytest.approx(n["hop"])
    # ana's posts, newest first (tests/worlds.py: 101 is 1 h old, 990002 10 min... by ana)
    ana = by_handle["ana"]
    assert [p["post_id"] for p in ana["posts"]] == [990002, 101]
    assert all(p["image"] is None for p in ana["posts"])
    assert BAD_HANDLE in by_handle and by_handle[BAD_HANDLE]["hop"] == 2
    assert view["counts"] == {
        "nodes": len(graph["nodes"]),
        "edges": len(graph["edges"]),
        "followed": 3,
    }


def test_svg_escapes_and_links(hostile_db: Path) -> None:
    engine = Engine.open(hostile_db)
    view = network_view(engine.ego_network("me"))
    svg = network_svg(view)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<circle") + svg.count("<rect") == len(view["nodes"])
    assert svg.count("<line") == len(view["edges"])
    assert " style=" not in svg
    assert re.findall(r'<a href="([^"]+)"', svg)[0].startswith("#node-")


# -------------------------------------------------------------- standalone
needs_library = pytest.mark.skipif(
    graph_library_path() is None, reason="cytoscape not installed (npm ci in src/discovery/web)"
)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@needs_library
def test_graph_html_is_standalone_and_its_csp_allows_only_its_scripts(
    hostile_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ego.html"
    assert run(["--db", str(hostile_db), "graph", "me", "--out", str(out)]) == 0
    assert "wrote the network of @me" in capsys.readouterr().out
    html = out.read_text()
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert meta is not None
    csp = unescape(meta.group(1))
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(inline) == 2  # the library and network.js, nothing else
    allowed = re.search(r"script-src ([^;]+);", csp)
    assert allowed and allowed.group(1).split() == [_sha(s) for s in inline]
    style = re.search(r'<style id="__________cytoscape_stylesheet">(.*?)</style>', html, re.S)
    assert style and _sha(style.group(1)) in csp
    assert "http" not in csp.split("img-src")[0]  # scripts and styles from nowhere else
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    data = re.search(r'<script type="application/json" id="network-data">(.*?)</script>', html)
    assert data and "<" not in data.group(1)
    assert BAD_HANDLE in {n["handle"] for n in json.loads(data.group(1))["nodes"]}
    assert 'src="javascript' not in html.lower()


def test_graph_png(hostile_db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "ego.png"
    assert run(["--db", str(hostile_db), "graph", "me", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "ego.svg"], "expected a .html or .png"),
        (["--out", "ego.png", "--depth", "4"], "depth must be 1, 2 or 3"),
        (["--out", "ego.html", "--posts", "50"], "--posts must be between 0 and 12"),
    ],
)
def test_graph_bad_options(
    hostile_db: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--db", str(hostile_db), "graph", "me", *args]) == 1
    assert message in capsys.readouterr().err


def test_graph_html_without_the_library_says_how_to_install(
    hostile_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DISCOVERY_NODE_MODULES", str(tmp_path / "empty"))
    assert run(["--db", str(hostile_db), "graph", "me", "--out", str(tmp_path / "ego.html")]) == 1
    err = capsys.readouterr().err
    assert "make demo" in err and "npm ci" in err
    assert not (tmp_path / "ego.html").exists()
