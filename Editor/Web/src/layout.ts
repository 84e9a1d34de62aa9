// Automatic layout on the client (dagre, top to bottom). The result goes back to the server as one moveNodes
// command, so it is part of the document and one undo step like any move.

import dagre from "@dagrejs/dagre";
import type { NetworkDocument, Position } from "./protocol";
import { groupNodeId, groupSize, layerSize, type FlowNode, type ShapeFlowEdge } from "./view";

/**
 * Positions for every document node: drawn nodes are laid out as a layered graph; the members of a collapsed
 * group move with the group node (keeping their offsets, so expanding it later shows its own arrangement).
 */
export function layoutPositions(doc: NetworkDocument, nodes: FlowNode[], edges: ShapeFlowEdge[]): Record<string, Position> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 56, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    if (node.type === "frame") continue;
    const fallback = node.type === "collapsed" ? groupSize : layerSize;
    const width = node.measured?.width ?? fallback.width;
    const height = node.measured?.height ?? fallback.height;
    graph.setNode(node.id, { width, height });
  }
  for (const edge of layoutEdges(edges.filter((e) => graph.hasNode(e.source) && graph.hasNode(e.target)))) {
    graph.setEdge(edge.source, edge.target);
  }
  dagre.layout(graph);

  const placed = new Map<string, Position>();
  for (const id of graph.nodes()) {
    const n = graph.node(id);
    placed.set(id, { x: Math.round(n.x - n.width / 2), y: Math.round(n.y - n.height / 2) });
  }

  const positions: Record<string, Position> = {};
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  for (const group of doc.groups) {
    if (!group.collapsed) continue;
    const target = placed.get(groupNodeId(group.id));
    const members = group.nodes.map((id) => byId.get(id)).filter((n) => n !== undefined);
    if (!target || members.length === 0) continue;
    const minX = Math.min(...members.map((n) => n.position.x));
    const minY = Math.min(...members.map((n) => n.position.y));
    // Members that all sat on one spot get a column of their own, so that expanding the group shows them apart.
    const stacked = members.every((n) => n.position.x === minX && n.position.y === minY);
    members.forEach((n, i) => {
      positions[n.id] = stacked
        ? { x: target.x, y: target.y + i * (layerSize.height + 40) }
        : { x: target.x + (n.position.x - minX), y: target.y + (n.position.y - minY) };
    });
  }
  for (const node of doc.nodes) {
    const p = placed.get(node.id);
    if (p) positions[node.id] = p;
  }
  return positions;
}

/**
 * The edges the layout ranks by. A densely connected network (DenseNet: every layer's concatenation reads all
 * earlier ones) has edges spanning many ranks, and a layered layout adds one dummy node per rank crossed: tens of
 * thousands for DenseNet-121, seconds of work. When there are more than two edges per node, each node keeps only
 * the edges from its two nearest predecessors (latest in topological order); the ranks stay those of the longest
 * path wherever a nearer path exists, and every edge is still drawn.
 */
function layoutEdges<E extends { source: string; target: string }>(edges: E[]): E[] {
  const ids = new Set(edges.flatMap((e) => [e.source, e.target]));
  if (edges.length <= 2 * ids.size) return edges;
  // Kahn's topological order of the drawn graph (nodes on a cycle, which the server refuses, keep order 0).
  const indegree = new Map<string, number>([...ids].map((id) => [id, 0]));
  const out = new Map<string, string[]>();
  for (const e of edges) {
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1);
    out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  }
  const order = new Map<string, number>();
  const ready = [...ids].filter((id) => indegree.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.set(id, order.size);
    for (const next of out.get(id) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  const byTarget = new Map<string, E[]>();
  for (const e of edges) byTarget.set(e.target, [...(byTarget.get(e.target) ?? []), e]);
  const kept: E[] = [];
  for (const list of byTarget.values()) {
    list.sort((a, b) => (order.get(b.source) ?? 0) - (order.get(a.source) ?? 0));
    kept.push(...list.slice(0, 2));
  }
  return kept;
}
