// Automatic layout on the client (dagre, top to bottom). The result goes back to the server as one moveNodes command,
// folded into the change that needed it (a template, an open, an expanded group) or an undo step of its own (the
// Layout button).
//
// Two things keep a large network readable: an expanded group is laid out as a dagre cluster, so its frame holds all of
// its members (a block's downsample branch included) and no other node; and a network much taller than the canvas is
// wrapped into side-by-side columns, cut between rows, so that it fits at a zoom where the text can be read.

import dagre from "@dagrejs/dagre";
import type { NetworkDocument, Position } from "./protocol";
import { frameNodeId, groupNodeId, groupSize, layerSize, type FlowNode, type ShapeFlowEdge } from "./view";
import { readableZoom, usableArea, type Size } from "./viewport";

const nodeGap = 36;
const rankGap = 56;
/** Horizontal space between two columns of a wrapped layout (room for the edge that climbs to the next column). */
const columnGap = 96;
/** A wrapped layout stops adding columns once it fits at this zoom. */
const comfortableZoom = 0.9;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Positions for every document node: drawn nodes are laid out as a layered graph (expanded groups as clusters), wrapped
 * into columns when that makes it readable on a canvas of `canvas` pixels; the members of a collapsed group move with the
 * group node (keeping their offsets, so expanding it later shows its own arrangement).
 */
export function layoutPositions(doc: NetworkDocument, nodes: FlowNode[], edges: ShapeFlowEdge[], canvas?: Size): Record<string, Position> {
  const graph = new dagre.graphlib.Graph({ compound: true });
  graph.setGraph({ rankdir: "TB", nodesep: nodeGap, ranksep: rankGap, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  const drawn = nodes.filter((n) => n.type !== "frame");
  for (const node of drawn) {
    const fallback = node.type === "collapsed" ? groupSize : layerSize;
    graph.setNode(node.id, { width: node.measured?.width ?? fallback.width, height: node.measured?.height ?? fallback.height });
  }
  const clusterOf = new Map<string, string>();
  for (const group of doc.groups) {
    if (group.collapsed) continue;
    const cluster = frameNodeId(group.id);
    for (const member of group.nodes) {
      if (!graph.hasNode(member)) continue;
      graph.setParent(member, cluster);
      clusterOf.set(member, cluster);
    }
  }
  for (const edge of layoutEdges(edges.filter((e) => graph.hasNode(e.source) && graph.hasNode(e.target)))) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);

  // The units that move together when the layout is wrapped: a node outside every cluster, or a whole cluster.
  const units = new Map<string, Box & { members: string[] }>();
  for (const node of drawn) {
    const n = graph.node(node.id);
    const box = { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height };
    const unit = clusterOf.get(node.id) ?? node.id;
    const current = units.get(unit);
    if (!current) units.set(unit, { ...box, members: [node.id] });
    else {
      const right = Math.max(current.x + current.width, box.x + box.width);
      const bottom = Math.max(current.y + current.height, box.y + box.height);
      current.x = Math.min(current.x, box.x);
      current.y = Math.min(current.y, box.y);
      current.width = right - current.x;
      current.height = bottom - current.y;
      current.members.push(node.id);
    }
  }
  const shift = canvas ? wrapIntoColumns([...units.values()], usableArea(canvas)) : new Map<Box, Position>();

  const placed = new Map<string, Position>();
  for (const unit of units.values()) {
    const d = shift.get(unit) ?? { x: 0, y: 0 };
    for (const id of unit.members) {
      const n = graph.node(id);
      placed.set(id, { x: Math.round(n.x - n.width / 2 + d.x), y: Math.round(n.y - n.height / 2 + d.y) });
    }
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
 * Splits a tall layout into columns placed side by side, cutting only between rows (a row: units whose vertical extents
 * overlap, so branches and clusters are never cut). Nothing moves when the layout is already readable on `canvas` in one
 * column; otherwise the column count that gives the largest zoom wins. Returns each unit's offset.
 */
function wrapIntoColumns<T extends Box>(units: T[], canvas: Size): Map<T, Position> {
  const offsets = new Map<T, Position>();
  if (units.length === 0) return offsets;
  const rows: { top: number; bottom: number; units: T[] }[] = [];
  for (const unit of [...units].sort((a, b) => a.y - b.y)) {
    const last = rows[rows.length - 1];
    if (last && unit.y < last.bottom) {
      last.bottom = Math.max(last.bottom, unit.y + unit.height);
      last.units.push(unit);
    } else rows.push({ top: unit.y, bottom: unit.y + unit.height, units: [unit] });
  }
  const zoomOf = (width: number, height: number) => Math.min(1, canvas.width / width, canvas.height / height);
  const columnsOf = (count: number) => {
    const total = rows[rows.length - 1].bottom - rows[0].top;
    const target = total / count;
    const columns: (typeof rows)[] = [[]];
    for (const row of rows) {
      const column = columns[columns.length - 1];
      if (column.length > 0 && row.bottom - column[0].top > target * 1.08) columns.push([row]);
      else column.push(row);
    }
    const extents = columns.map((column) => {
      const members = column.flatMap((r) => r.units);
      const left = Math.min(...members.map((u) => u.x));
      const right = Math.max(...members.map((u) => u.x + u.width));
      return { column, left, width: right - left, top: column[0].top, height: column[column.length - 1].bottom - column[0].top };
    });
    const width = extents.reduce((sum, e) => sum + e.width, 0) + columnGap * (extents.length - 1);
    const height = Math.max(...extents.map((e) => e.height));
    return { extents, zoom: zoomOf(width, height) };
  };

  let best = columnsOf(1);
  if (best.zoom >= readableZoom) return offsets;
  // the fewest columns that give a comfortable zoom, else the count that gives the largest
  for (let count = 2; count <= Math.min(12, rows.length) && best.zoom < comfortableZoom; count++) {
    const candidate = columnsOf(count);
    if (candidate.zoom > best.zoom * 1.05) best = candidate;
  }
  let x = best.extents[0].left;
  const top = best.extents[0].top;
  for (const extent of best.extents) {
    const d = { x: x - extent.left, y: top - extent.top };
    for (const row of extent.column) for (const unit of row.units) offsets.set(unit, d);
    x += extent.width + columnGap;
  }
  return offsets;
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
