// The canvas: React Flow drawing the document, and what is dropped on it from the palette. A layer dropped onto an
// edge is inserted into it (the edge under the pointer is highlighted while dragging), onto a node it follows that
// node, elsewhere it lands where it fell; a block follows the node it is dropped on; a model opens its dialog.

import { useMemo, useState, type RefObject } from "react";
import { Background, Controls, MiniMap, ReactFlow, useReactFlow, type Connection, type EdgeChange, type NodeChange } from "@xyflow/react";
import type { DropTarget } from "./hooks/useEditing";
import { edgeTypes, nodeTypes } from "./nodes";
import { layerDragType, templateDragType } from "./Palette";
import type { Position } from "./protocol";
import type { FlowNode, ShapeFlowEdge } from "./view";

interface Props {
  canvas: RefObject<HTMLDivElement | null>;
  nodes: FlowNode[];
  edges: ShapeFlowEdge[];
  /** Why connections may not change now (a run is training the network), or null. */
  locked: string | null;
  onNodesChange(changes: NodeChange<FlowNode>[]): void;
  onEdgesChange(changes: EdgeChange<ShapeFlowEdge>[]): void;
  onConnect(connection: Connection): void;
  onNodesMoved(dragged: FlowNode[]): void;
  onDropLayer(type: string, point: Position, target: DropTarget): void;
  onDropTemplate(id: string, point: Position, target: DropTarget): void;
}

/** The drawn node, else the edge, under a point of the screen (an edge's line or its shape label). */
function targetAt(x: number, y: number, nodes: FlowNode[], edges: ShapeFlowEdge[]): DropTarget {
  let nodeId: string | null = null;
  let edgeId: string | null = null;
  for (const element of document.elementsFromPoint(x, y)) {
    nodeId ??= element.closest(".react-flow__node")?.getAttribute("data-id") ?? null;
    edgeId ??= element.closest(".react-flow__edge")?.getAttribute("data-id") ?? element.closest("[data-edge-id]")?.getAttribute("data-edge-id") ?? null;
  }
  const node = nodeId ? (nodes.find((n) => n.id === nodeId && n.type !== "frame") ?? null) : null;
  return { node, edge: node || !edgeId ? null : (edges.find((e) => e.id === edgeId) ?? null) };
}

export function EditorCanvas({ canvas, nodes, edges, locked, onNodesChange, onEdgesChange, onConnect, onNodesMoved, onDropLayer, onDropTemplate }: Props) {
  const flow = useReactFlow<FlowNode, ShapeFlowEdge>();
  const [dropEdge, setDropEdge] = useState<string | null>(null);
  const shownEdges = useMemo(
    () => (dropEdge ? edges.map((e) => (e.id === dropEdge && e.data ? { ...e, data: { ...e.data, dropTarget: true } } : e)) : edges),
    [edges, dropEdge],
  );

  const onDragOver = (e: React.DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    const layer = e.dataTransfer.types.includes(layerDragType);
    const edge = layer ? targetAt(e.clientX, e.clientY, nodes, edges).edge : null;
    if ((edge?.id ?? null) !== dropEdge) setDropEdge(edge?.id ?? null);
  };

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDropEdge(null);
    const point = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    const target = targetAt(e.clientX, e.clientY, nodes, edges);
    const layerType = e.dataTransfer.getData(layerDragType);
    if (layerType) onDropLayer(layerType, point, target);
    const templateId = e.dataTransfer.getData(templateDragType);
    if (templateId) onDropTemplate(templateId, { x: Math.round(point.x), y: Math.round(point.y) }, target);
  };

  return (
    <div className="canvas" ref={canvas} data-testid="canvas" onDragOver={onDragOver} onDragLeave={() => setDropEdge(null)} onDrop={onDrop}>
      <ReactFlow<FlowNode, ShapeFlowEdge>
        nodes={nodes}
        edges={shownEdges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={(_, __, dragged) => onNodesMoved(dragged)}
        onConnect={onConnect}
        nodesConnectable={locked === null}
        isValidConnection={(c) => c.source !== c.target}
        deleteKeyCode={null}
        multiSelectionKeyCode="Shift"
        minZoom={0.03}
        maxZoom={2.5}
        onlyRenderVisibleElements={nodes.length > 300}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls data-testid="zoom-controls" />
        <MiniMap
          pannable
          zoomable
          data-testid="minimap"
          nodeColor={(n) => ((n.data as { node?: { error?: string | null } }).node?.error ? "#e05252" : n.type === "collapsed" ? "#8a6fd1" : "#7b8fa6")}
        />
      </ReactFlow>
    </div>
  );
}
