// Turns the server's document into what React Flow draws. Nothing here decides anything about the network:
// shapes, errors, parameter counts and the group membership all come from the document as sent.
//
// A collapsed group is drawn as one node ("group:<id>") that stands for all its members: edges into and out of
// the group are redrawn to it, edges inside it are hidden. An expanded group is drawn as a frame behind its
// members (a node of type "frame" that does not take pointer events).

import type { Edge, Node } from "@xyflow/react";
import type { DocGroup, DocNode, LayerSpec, NetworkDocument, Position, Shape } from "./protocol";

export const layerSize = { width: 184, height: 74 };
export const groupSize = { width: 212, height: 86 };
const framePadding = 24;
const frameHeader = 30;

export interface LayerNodeData extends Record<string, unknown> {
  node: DocNode;
  spec: LayerSpec | undefined;
  isOutput: boolean;
  /** Target ports drawn on the node: the fixed count, or for variadic layers the connected ports + one free. */
  ports: number;
}

export interface GroupNodeData extends Record<string, unknown> {
  group: DocGroup;
  members: DocNode[];
  parameters: number;
  flops: number;
  /** The shape leaving the group (its exit node's output). */
  outputShape: Shape | null;
  errors: string[];
}

export interface FrameNodeData extends Record<string, unknown> {
  group: DocGroup;
  width: number;
  height: number;
  hasError: boolean;
}

export interface ShapeEdgeData extends Record<string, unknown> {
  shape: Shape | null;
  docSource: string;
  docTarget: string;
  /** The port of `docTarget` the edge feeds. */
  docPort: number;
  /** Drawn highlighted: a layer dragged over it would be inserted into it. */
  dropTarget?: boolean;
}

export type LayerFlowNode = Node<LayerNodeData, "layer">;
export type GroupFlowNode = Node<GroupNodeData, "collapsed">;
export type FrameFlowNode = Node<FrameNodeData, "frame">;
export type FlowNode = LayerFlowNode | GroupFlowNode | FrameFlowNode;
export type ShapeFlowEdge = Edge<ShapeEdgeData, "shape">;

export const groupNodeId = (groupId: string) => `group:${groupId}`;
export const frameNodeId = (groupId: string) => `frame:${groupId}`;

/** The id of the drawn node that stands for document node `id` (itself, or its collapsed group). */
export function visibleOwners(doc: NetworkDocument): Map<string, string> {
  const owner = new Map<string, string>();
  for (const node of doc.nodes) owner.set(node.id, node.id);
  for (const group of doc.groups) {
    if (!group.collapsed) continue;
    for (const member of group.nodes) owner.set(member, groupNodeId(group.id));
  }
  return owner;
}

/** The member whose output leaves the group (read by a node outside it, or the network's output). */
export function groupExit(doc: NetworkDocument, group: DocGroup): string | null {
  const members = new Set(group.nodes);
  let exit: string | null = null;
  for (const edge of doc.edges) {
    if (members.has(edge.source) && !members.has(edge.target)) exit = edge.source;
  }
  if (doc.output && members.has(doc.output)) exit = doc.output;
  return exit ?? group.nodes[group.nodes.length - 1] ?? null;
}

function topLeft(nodes: DocNode[]): Position {
  let x = Infinity;
  let y = Infinity;
  for (const node of nodes) {
    x = Math.min(x, node.position.x);
    y = Math.min(y, node.position.y);
  }
  return Number.isFinite(x) ? { x, y } : { x: 0, y: 0 };
}

export function buildView(doc: NetworkDocument, specs: Map<string, LayerSpec>): { nodes: FlowNode[]; edges: ShapeFlowEdge[] } {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const owner = visibleOwners(doc);
  const nodes: FlowNode[] = [];

  for (const group of doc.groups) {
    const members = group.nodes.map((id) => byId.get(id)).filter((n): n is DocNode => n !== undefined);
    if (members.length === 0) continue;
    if (group.collapsed) {
      const exit = groupExit(doc, group);
      nodes.push({
        id: groupNodeId(group.id),
        type: "collapsed",
        position: topLeft(members),
        data: {
          group,
          members,
          parameters: members.reduce((sum, n) => sum + n.parameters, 0),
          flops: members.reduce((sum, n) => sum + n.flops, 0),
          outputShape: exit ? (byId.get(exit)?.outputShape ?? null) : null,
          errors: members.filter((n) => n.error).map((n) => n.error as string),
        },
      });
    } else {
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (const n of members) {
        minX = Math.min(minX, n.position.x);
        minY = Math.min(minY, n.position.y);
        maxX = Math.max(maxX, n.position.x + layerSize.width);
        maxY = Math.max(maxY, n.position.y + layerSize.height);
      }
      const width = maxX - minX + 2 * framePadding;
      const height = maxY - minY + 2 * framePadding + frameHeader;
      nodes.push({
        id: frameNodeId(group.id),
        type: "frame",
        position: { x: minX - framePadding, y: minY - framePadding - frameHeader },
        data: { group, width, height, hasError: members.some((n) => n.error) },
        selectable: false,
        draggable: false,
        connectable: false,
        focusable: false,
        zIndex: -1,
        style: { width, height, pointerEvents: "none" },
      });
    }
  }

  for (const node of doc.nodes) {
    if (owner.get(node.id) !== node.id) continue;
    const spec = specs.get(node.type);
    const declared = spec?.inputs ?? node.inputs.length;
    const ports = declared === -1 ? Math.max(2, node.inputs.filter((i) => i !== null).length + 1) : Math.max(declared, node.inputs.length);
    nodes.push({
      id: node.id,
      type: "layer",
      position: node.position,
      data: { node, spec, isOutput: doc.output === node.id, ports: node.type === "Input" ? 0 : ports },
    });
  }

  const edges: ShapeFlowEdge[] = [];
  const seen = new Set<string>();
  for (const edge of doc.edges) {
    const source = owner.get(edge.source) ?? edge.source;
    const target = owner.get(edge.target) ?? edge.target;
    if (source === target) continue; // inside one collapsed group
    const targetIsGroup = target !== edge.target;
    const targetHandle = targetIsGroup ? "in-0" : `in-${edge.targetPort}`;
    const key = `${source}->${target}:${targetHandle}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({
      id: edge.id,
      type: "shape",
      source,
      target,
      sourceHandle: "out",
      targetHandle,
      data: { shape: edge.shape, docSource: edge.source, docTarget: edge.target, docPort: edge.targetPort },
    });
  }
  return { nodes, edges };
}

/**
 * True when two drawn nodes overlap, or a node lies inside the frame of an expanded group it is not a member of (a
 * document with no layout yet, a collapsed group over other nodes, a group expanded over its neighbours).
 */
export function needsLayout(nodes: FlowNode[]): boolean {
  const boxes = nodes
    .map((n) => {
      const size = n.type === "frame" ? { width: n.data.width, height: n.data.height } : n.type === "collapsed" ? groupSize : layerSize;
      const members = n.type === "frame" ? new Set(n.data.group.nodes) : null;
      return { id: n.id, members, x: n.position.x, y: n.position.y, w: n.measured?.width ?? size.width, h: n.measured?.height ?? size.height };
    })
    .sort((a, b) => a.x - b.x);
  // Sweep along x: only boxes whose x ranges meet can overlap.
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    for (let j = i + 1; j < boxes.length && boxes[j].x < a.x + a.w; j++) {
      const b = boxes[j];
      if (!(b.y < a.y + a.h && a.y < b.y + b.h)) continue;
      if (a.members?.has(b.id) || b.members?.has(a.id)) continue; // a frame holds its own members
      return true;
    }
  }
  return false;
}
