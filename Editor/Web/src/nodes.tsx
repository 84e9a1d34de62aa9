// The drawn parts of the canvas: a layer, a collapsed group, an expanded group's frame, and an edge labelled
// with the tensor shape it carries. All text comes from the document (shapes, counts, errors).

import { memo, useContext, createContext } from "react";
import { BaseEdge, EdgeLabelRenderer, getBezierPath, Handle, Position, type EdgeProps, type NodeProps } from "@xyflow/react";
import { GraphOverlayContext, NodeOverlay } from "./monitor/graphOverlay";
import { formatCount, formatShape, type Command } from "./protocol";
import type { FrameFlowNode, GroupFlowNode, LayerFlowNode, ShapeFlowEdge } from "./view";

/** What the drawn nodes can ask of the editor: collapse/expand and ungroup a group, apply a node's fix. */
export interface GroupActions {
  setCollapsed(group: string, collapsed: boolean): void;
  ungroup(group: string): void;
  applyFix(command: Command): void;
}
export const GroupActionsContext = createContext<GroupActions>({ setCollapsed: () => {}, ungroup: () => {}, applyFix: () => {} });

function portLeft(index: number, count: number): string {
  return `${((index + 1) / (count + 1)) * 100}%`;
}

export const LayerNode = memo(function LayerNode({ data, selected }: NodeProps<LayerFlowNode>) {
  const actions = useContext(GroupActionsContext);
  const heat = useContext(GraphOverlayContext).heat.get(data.node.id);
  const { node, isOutput, ports } = data;
  const classes = ["layer-node", `group-${data.spec?.group ?? "other"}`];
  if (node.error) classes.push("has-error");
  if (selected) classes.push("selected");
  if (isOutput) classes.push("is-output");
  return (
    <div
      className={classes.join(" ")}
      data-testid={`node-${node.id}`}
      data-type={node.type}
      title={node.error ?? undefined}
      style={heat ? { background: heat } : undefined}
      data-heat={heat ? "on" : undefined}
    >
      {Array.from({ length: ports }, (_, i) => (
        <Handle
          key={i}
          id={`in-${i}`}
          type="target"
          position={Position.Top}
          style={{ left: portLeft(i, ports) }}
          data-testid={`handle-in-${node.id}-${i}`}
          className={node.inputs[i] ? "port-connected" : "port-free"}
        />
      ))}
      <div className="layer-title">
        <span className="layer-type">{node.type}</span>
        <span className="layer-id">{node.id}</span>
      </div>
      <div className="layer-info">
        <span data-testid={`node-shape-${node.id}`}>{formatShape(node.outputShape)}</span>
        {node.parameters > 0 && <span className="layer-params">{formatCount(node.parameters)} p</span>}
        {isOutput && <span className="output-badge">output</span>}
        <NodeOverlay id={node.id} />
      </div>
      {node.error && (
        <div className="node-error" data-testid={`node-error-${node.id}`}>
          {node.error}
        </div>
      )}
      {node.fix && (
        <button className="nodrag small fix" data-testid={`node-fix-${node.id}`} onClick={() => actions.applyFix(node.fix!.command)}>
          {node.fix.label}
        </button>
      )}
      <Handle id="out" type="source" position={Position.Bottom} data-testid={`handle-out-${node.id}`} />
    </div>
  );
});

export const GroupNode = memo(function GroupNode({ data, selected }: NodeProps<GroupFlowNode>) {
  const actions = useContext(GroupActionsContext);
  const { group, members } = data;
  const classes = ["group-node"];
  if (data.errors.length > 0) classes.push("has-error");
  if (selected) classes.push("selected");
  return (
    <div className={classes.join(" ")} data-testid={`group-${group.id}`}>
      <Handle id="in-0" type="target" position={Position.Top} />
      <div className="layer-title">
        <span className="layer-type">{group.label}</span>
        <button
          className="nodrag small"
          data-testid={`group-toggle-${group.id}`}
          title="Expand the group to see and edit its layers"
          onClick={() => actions.setCollapsed(group.id, false)}
        >
          expand
        </button>
      </div>
      <div className="layer-info">
        <span>{members.length} layers</span>
        <span data-testid={`group-shape-${group.id}`}>{formatShape(data.outputShape)}</span>
        <span className="layer-params">{formatCount(data.parameters)} p</span>
      </div>
      {data.errors.length > 0 && (
        <div className="node-error" data-testid={`group-error-${group.id}`}>
          {data.errors[0]}
          {data.errors.length > 1 ? ` (+${data.errors.length - 1} more)` : ""}
        </div>
      )}
      <Handle id="out" type="source" position={Position.Bottom} />
    </div>
  );
});

export const FrameNode = memo(function FrameNode({ data }: NodeProps<FrameFlowNode>) {
  const actions = useContext(GroupActionsContext);
  const { group } = data;
  return (
    <div
      className={`group-frame${data.hasError ? " has-error" : ""}`}
      style={{ width: data.width, height: data.height }}
      data-testid={`frame-${group.id}`}
    >
      <div className="frame-header">
        <span>{group.label}</span>
        <button className="nodrag small" data-testid={`group-toggle-${group.id}`} onClick={() => actions.setCollapsed(group.id, true)}>
          collapse
        </button>
        <button className="nodrag small" data-testid={`group-ungroup-${group.id}`} onClick={() => actions.ungroup(group.id)}>
          ungroup
        </button>
      </div>
    </div>
  );
});

export const ShapeEdge = memo(function ShapeEdge(props: EdgeProps<ShapeFlowEdge>) {
  const { sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, markerEnd } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  return (
    <>
      <BaseEdge path={path} markerEnd={markerEnd} className={data?.dropTarget ? "edge-drop-target" : selected ? "edge-selected" : undefined} />
      <EdgeLabelRenderer>
        <div
          className={`edge-label${data?.shape ? "" : " unknown"}${selected ? " selected" : ""}${data?.dropTarget ? " drop-target" : ""}`}
          data-edge-id={props.id}
          style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          data-testid={`edge-shape-${data?.docSource}-${data?.docTarget}`}
        >
          {formatShape(data?.shape)}
        </div>
      </EdgeLabelRenderer>
    </>
  );
});

// "collapsed", not "group": React Flow styles its own built-in "group" node type.
export const nodeTypes = { layer: LayerNode, collapsed: GroupNode, frame: FrameNode };
export const edgeTypes = { shape: ShapeEdge };
