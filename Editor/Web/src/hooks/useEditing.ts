// Editing the graph from the canvas and the palette: adding layers (after the selected node, onto an edge, where they
// are dropped), blocks, connections, moves, deletion, groups and the one-click fixes the server offers. Every edit is
// one command; the server validates it and answers the new document.

import { useCallback, useMemo, type RefObject } from "react";
import type { Connection } from "@xyflow/react";
import type { DocumentState } from "./useDocument";
import type { CanvasView } from "./useCanvasView";
import type { GroupActions } from "../nodes";
import type { Command, LayerSpec, Position, TemplateSpec } from "../protocol";
import { groupExit, groupNodeId, layerSize, type FlowNode, type ShapeFlowEdge } from "../view";

/** What lies under a drop: an edge (the layer goes into it), a node (the layer or block follows it), or nothing. */
export interface DropTarget {
  edge: ShapeFlowEdge | null;
  node: FlowNode | null;
}

const inputType = "Input";

export function useEditing(documentState: DocumentState, view: CanvasView, specs: Map<string, LayerSpec>, canvas: RefObject<HTMLDivElement | null>) {
  const { docRef, command, setError } = documentState;
  const { flow, nodesRef, edgesRef } = view;

  /** Document node ids of drawn node ids (a collapsed group stands for its members, frames for nothing). */
  const docIdsOf = useCallback(
    (flowIds: string[]): string[] => {
      const current = docRef.current;
      if (!current) return [];
      const ids: string[] = [];
      for (const id of flowIds) {
        if (id.startsWith("group:")) ids.push(...(current.groups.find((g) => groupNodeId(g.id) === id)?.nodes ?? []));
        else if (!id.startsWith("frame:")) ids.push(id);
      }
      return ids;
    },
    [docRef],
  );

  /** The document node a drawn node's output comes from: itself, or a collapsed group's exit. */
  const outputOf = useCallback(
    (node: FlowNode): string | null => {
      const current = docRef.current;
      if (!current || node.type === "frame") return null;
      if (node.type === "layer") return node.id;
      return groupExit(current, node.data.group);
    },
    [docRef],
  );

  /** The one selected layer or collapsed group's output, or null. */
  const selectedAnchor = useCallback((): string | null => {
    const selected = nodesRef.current.filter((n) => n.selected && n.type !== "frame");
    return selected.length === 1 ? outputOf(selected[0]) : null;
  }, [nodesRef, outputOf]);

  const viewportCenter = useCallback((): Position => {
    const rect = canvas.current?.getBoundingClientRect();
    if (!rect) return { x: 0, y: 0 };
    const p = flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
    return { x: Math.round(p.x - layerSize.width / 2), y: Math.round(p.y - layerSize.height / 2) };
  }, [flow, canvas]);

  /** Double-click in the palette: the layer goes after the selected node (else after the network's output, else after
   * its Input), connected and selected, so repeated double-clicks build a chain. An Input goes to the view's centre. */
  const addFromPalette = useCallback(
    (type: string) => {
      const current = docRef.current;
      if (!current) return;
      const anchor = type === inputType ? null : (selectedAnchor() ?? current.output ?? current.nodes.find((n) => n.type === inputType)?.id ?? null);
      const placement: Partial<Command> = anchor ? { after: anchor } : { position: viewportCenter() };
      void command({ op: "addNode", type, ...placement } as Command, { select: "added" });
    },
    [docRef, command, selectedAnchor, viewportCenter],
  );

  /** A layer dropped on the canvas: onto an edge it goes into that edge, onto a node after it, elsewhere where it fell. */
  const dropLayer = useCallback(
    (type: string, point: Position, target: DropTarget) => {
      const edge = type === inputType ? null : target.edge?.data;
      const after = type === inputType || !target.node ? null : outputOf(target.node);
      const placement: Partial<Command> = edge
        ? { insertInto: { source: edge.docSource, target: edge.docTarget, targetPort: edge.docPort } }
        : after
          ? { after }
          : { position: { x: Math.round(point.x - layerSize.width / 2), y: Math.round(point.y - 16) } };
      void command({ op: "addNode", type, ...placement } as Command, { select: "added" });
    },
    [command, outputOf],
  );

  /** A block follows the node it was dropped on (placed below it), else the selected node (placed where it fell). */
  const insertBlock = useCallback(
    (template: TemplateSpec, position?: Position, onto?: FlowNode | null) => {
      const dropAnchor = onto ? outputOf(onto) : null;
      const anchor = dropAnchor ?? selectedAnchor();
      if (!anchor) {
        setError(`Select the node the ${template.label} block should follow (or drop the block onto it)`);
        return;
      }
      void command({ op: "insertTemplate", template: template.id, after: anchor, ...(dropAnchor ? {} : { position }) });
    },
    [command, outputOf, selectedAnchor, setError],
  );

  const connect = useCallback(
    (connection: Connection) => {
      const current = docRef.current;
      if (!current) return;
      let source = connection.source;
      if (source.startsWith("group:")) {
        const group = current.groups.find((g) => groupNodeId(g.id) === source);
        source = (group && groupExit(current, group)) ?? source;
      }
      if (connection.target.startsWith("group:")) {
        setError("Expand the group to connect into one of its layers");
        return;
      }
      const target = current.nodes.find((n) => n.id === connection.target);
      const port = Number((connection.targetHandle ?? "in-0").slice(3));
      const variadic = target && specs.get(target.type)?.inputs === -1;
      const append = variadic && (port >= target.inputs.length || target.inputs[port] === null);
      void command({ op: "connect", source, target: connection.target, ...(append ? {} : { targetPort: port }) });
    },
    [docRef, command, specs, setError],
  );

  /** The end of a drag: the moved layers (a collapsed group moves its members) as one moveNodes. */
  const moveDragged = useCallback(
    (dragged: FlowNode[]) => {
      const current = docRef.current;
      if (!current) return;
      const byId = new Map(current.nodes.map((n) => [n.id, n]));
      const positions: Record<string, Position> = {};
      for (const node of dragged) {
        if (node.type === "layer") {
          positions[node.id] = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
        } else if (node.type === "collapsed") {
          const members = node.data.group.nodes.map((id) => byId.get(id)).filter((n) => n !== undefined);
          const dx = Math.round(node.position.x - Math.min(...members.map((n) => n.position.x)));
          const dy = Math.round(node.position.y - Math.min(...members.map((n) => n.position.y)));
          for (const m of members) positions[m.id] = { x: m.position.x + dx, y: m.position.y + dy };
        }
      }
      const moved = Object.entries(positions).some(([id, p]) => {
        const n = byId.get(id);
        return !n || n.position.x !== p.x || n.position.y !== p.y;
      });
      if (moved) void command({ op: "moveNodes", positions });
    },
    [docRef, command],
  );

  const deleteSelection = useCallback(async () => {
    const ids = docIdsOf(nodesRef.current.filter((n) => n.selected).map((n) => n.id));
    if (ids.length > 0) {
      await command({ op: "removeNodes", ids });
      return;
    }
    for (const edge of edgesRef.current.filter((e) => e.selected)) {
      if (edge.data) await command({ op: "disconnect", source: edge.data.docSource, target: edge.data.docTarget });
    }
  }, [command, docIdsOf, nodesRef, edgesRef]);

  /** A server-offered fix: its command as it is, the nodes it adds selected. */
  const applyFix = useCallback((fix: Command) => void command(fix, { select: "added" }), [command]);

  const groupActions = useMemo<GroupActions>(
    () => ({
      // an expanded group that now covers its neighbours is laid out again, as part of the same undo step
      setCollapsed: (group, collapsed) => void command({ op: "setGroupCollapsed", group, collapsed }, collapsed ? undefined : { layout: "ifOverlapping" }),
      ungroup: (group) => void command({ op: "ungroup", group }),
      applyFix,
    }),
    [command, applyFix],
  );

  return { docIdsOf, addFromPalette, dropLayer, insertBlock, connect, moveDragged, deleteSelection, applyFix, groupActions };
}

export type Editing = ReturnType<typeof useEditing>;

