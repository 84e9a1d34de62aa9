// Where the canvas looks after a document opens: the whole network when it can be read that way, else its beginning
// (the Input) at a zoom where the text can be read; the minimap shows the rest.

import type { ReactFlowInstance } from "@xyflow/react";
import { groupSize, layerSize, type FlowNode, type ShapeFlowEdge } from "./view";

export interface Size {
  width: number;
  height: number;
}

/** The smallest zoom at which a node's 12 px text stays readable (8.4 px on screen). */
export const readableZoom = 0.7;
/** The largest zoom an automatic fit uses (a three-node network is not blown up). */
const maxFitZoom = 1;
/** Screen pixels kept free around a fitted network. */
const padding = 24;

/** The canvas size minus the fit's padding: what a layout may fill. */
export function usableArea(canvas: Size): Size {
  return { width: Math.max(1, canvas.width - 2 * padding), height: Math.max(1, canvas.height - 2 * padding) };
}

/** The box around every drawn node (frames included), in flow coordinates. */
export function drawnBounds(nodes: FlowNode[]): { x: number; y: number; width: number; height: number } | null {
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  for (const node of nodes) {
    const fallback = node.type === "frame" ? { width: node.data.width, height: node.data.height } : node.type === "collapsed" ? groupSize : layerSize;
    const width = node.measured?.width ?? fallback.width;
    const height = node.measured?.height ?? fallback.height;
    left = Math.min(left, node.position.x);
    top = Math.min(top, node.position.y);
    right = Math.max(right, node.position.x + width);
    bottom = Math.max(bottom, node.position.y + height);
  }
  return Number.isFinite(left) ? { x: left, y: top, width: right - left, height: bottom - top } : null;
}

/**
 * Fits the network into the canvas at a zoom of at most 1; when that zoom would be below {@link readableZoom}, shows the
 * network's top (centred, or from its left edge when wider than the canvas) at the readable zoom instead.
 */
export function fitReadable(flow: ReactFlowInstance<FlowNode, ShapeFlowEdge>, nodes: FlowNode[], canvas: Size): void {
  const bounds = drawnBounds(nodes);
  if (!bounds) return;
  const area = usableArea(canvas);
  const whole = Math.min(maxFitZoom, area.width / bounds.width, area.height / bounds.height);
  const zoom = Math.max(whole, readableZoom);
  const x = bounds.width * zoom <= area.width ? (canvas.width - bounds.width * zoom) / 2 : padding;
  const y = bounds.height * zoom <= area.height ? (canvas.height - bounds.height * zoom) / 2 : padding;
  void flow.setViewport({ x: x - bounds.x * zoom, y: y - bounds.y * zoom, zoom });
}

/** Pans (at the same zoom) so that `nodes` are in the middle of the canvas, when any of them is outside it. */
export function revealIfHidden(flow: ReactFlowInstance<FlowNode, ShapeFlowEdge>, nodes: FlowNode[], canvas: Size): void {
  const bounds = drawnBounds(nodes);
  if (!bounds) return;
  const { x, y, zoom } = flow.getViewport();
  const left = -x / zoom;
  const top = -y / zoom;
  const inside = bounds.x >= left && bounds.y >= top && bounds.x + bounds.width <= left + canvas.width / zoom && bounds.y + bounds.height <= top + canvas.height / zoom;
  if (!inside) void flow.setCenter(bounds.x + bounds.width / 2, bounds.y + bounds.height / 2, { zoom });
}
