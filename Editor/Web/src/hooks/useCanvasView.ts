// What React Flow draws: the nodes and edges of the current document (view.ts), with the selection kept where ids
// survive. After a document is drawn it carries out what its request asked for (useDocument's AfterDraw): an automatic
// layout, sent back as one moveNodes that amends that change, and a fit that keeps the text readable.

import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import { applyEdgeChanges, applyNodeChanges, useReactFlow, type EdgeChange, type NodeChange } from "@xyflow/react";
import type { AfterDraw, PendingDraw } from "./useDocument";
import { layoutPositions } from "../layout";
import type { Command, LayerSpec, NetworkDocument } from "../protocol";
import { buildView, needsLayout, type FlowNode, type ShapeFlowEdge } from "../view";
import { fitReadable, revealIfHidden, type Size } from "../viewport";

interface Options {
  doc: NetworkDocument | null;
  specs: Map<string, LayerSpec>;
  pendingDraw: RefObject<PendingDraw | null>;
  command(c: Command, after?: AfterDraw): Promise<NetworkDocument | null>;
  canvas: RefObject<HTMLDivElement | null>;
}

export function useCanvasView({ doc, specs, pendingDraw, command, canvas }: Options) {
  const flow = useReactFlow<FlowNode, ShapeFlowEdge>();
  const [nodes, setNodes] = useState<FlowNode[]>([]);
  const [edges, setEdges] = useState<ShapeFlowEdge[]>([]);
  const nodesRef = useRef<FlowNode[]>([]);
  const edgesRef = useRef<ShapeFlowEdge[]>([]);
  nodesRef.current = nodes;
  edgesRef.current = edges;
  /** A fit waits for the next drawn nodes (their measured sizes). */
  const fitPending = useRef(false);
  /** Nodes just added and selected: brought into view once drawn, if they fell outside it. */
  const revealPending = useRef<string[]>([]);

  const canvasSize = useCallback((): Size => {
    const rect = canvas.current?.getBoundingClientRect();
    return { width: rect?.width ?? 800, height: rect?.height ?? 600 };
  }, [canvas]);

  // Every new document is redrawn; selection survives where the ids do.
  useEffect(() => {
    if (!doc) return;
    const after = pendingDraw.current?.revision === doc.revision ? pendingDraw.current : null;
    if (after) pendingDraw.current = null;
    const view = buildView(doc, specs);
    const previous = new Map(nodesRef.current.map((n) => [n.id, n]));
    const chosen = after?.select ? new Set(after.select) : null;
    const drawn = view.nodes.map((n) => {
      const old = previous.get(n.id);
      const selected = chosen ? chosen.has(n.id) : (old?.selected ?? false);
      return { ...n, selected, measured: old?.measured } as FlowNode;
    });
    setNodes(drawn);
    const selectedEdges = new Set(edgesRef.current.filter((e) => e.selected).map((e) => e.id));
    setEdges(view.edges.map((e) => ({ ...e, selected: selectedEdges.has(e.id) })));
    if (after?.layout && (after.layout === "always" || needsLayout(drawn))) {
      // fit once the laid-out document is drawn (a fit now would frame the old positions)
      const positions = layoutPositions(doc, drawn, view.edges, canvasSize());
      void command({ op: "moveNodes", positions, ...(after.amend === false ? {} : { amends: doc.revision }) }, { fit: after.fit });
    } else if (after?.fit) {
      fitPending.current = true;
    }
    if (after?.select && after.select.length > 0) revealPending.current = after.select;
  }, [doc, specs, command, pendingDraw, canvasSize]);

  // Two frames after the nodes change, React Flow has measured them: fit, or bring new nodes into view, when asked.
  useEffect(() => {
    if (!fitPending.current && revealPending.current.length === 0) return;
    const frame = requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const reveal = new Set(revealPending.current);
        revealPending.current = [];
        if (fitPending.current) {
          fitPending.current = false;
          fitReadable(flow, nodesRef.current, canvasSize());
        } else if (reveal.size > 0) {
          revealIfHidden(flow, nodesRef.current.filter((n) => reveal.has(n.id)), canvasSize());
        }
      }),
    );
    return () => cancelAnimationFrame(frame);
  }, [nodes, flow, canvasSize]);

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), ns));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange<ShapeFlowEdge>[]) => {
    setEdges((es) => applyEdgeChanges(changes.filter((c) => c.type !== "remove"), es));
  }, []);

  /** The Layout button: arranges the graph as one undo step of its own, then fits it. */
  const layoutNow = useCallback(() => {
    if (!doc) return;
    void command({ op: "moveNodes", positions: layoutPositions(doc, nodesRef.current, edgesRef.current, canvasSize()) }, { fit: true });
  }, [doc, command, canvasSize]);

  const selectOnly = useCallback((id: string) => setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id }))), []);

  return { flow, nodes, edges, nodesRef, edgesRef, onNodesChange, onEdgesChange, layoutNow, selectOnly };
}

export type CanvasView = ReturnType<typeof useCanvasView>;
