// Copy and paste of nodes: the server answers the copied nodes as paste takes them (ids, attributes, inputs), and a
// paste adds copies with fresh ids, selected.

import { useCallback, useRef } from "react";
import { api } from "../api";
import type { DocumentState } from "./useDocument";
import type { PastedNode } from "../protocol";
import type { FlowNode } from "../view";

export function useClipboard(documentState: DocumentState, selectedIds: () => string[]) {
  const { command, setError } = documentState;
  const clipboard = useRef<PastedNode[]>([]);
  /** The copy request in flight: Ctrl+V right after Ctrl+C pastes what was copied. */
  const copying = useRef<Promise<void>>(Promise.resolve());

  const copy = useCallback(async () => {
    const ids = selectedIds();
    if (ids.length === 0) return;
    copying.current = api.copy(ids).then(
      (answer) => {
        clipboard.current = answer.nodes;
      },
      (e: Error) => setError(e.message),
    );
    await copying.current;
  }, [selectedIds, setError]);

  const paste = useCallback(async () => {
    await copying.current;
    if (clipboard.current.length === 0) return;
    await command({ op: "paste", nodes: clipboard.current, offset: { x: 48, y: 48 } }, { select: "added" });
  }, [command]);

  return { copy, paste };
}

/** Ids of the selected drawn nodes. */
export function selectedFlowIds(nodes: FlowNode[]): string[] {
  return nodes.filter((n) => n.selected).map((n) => n.id);
}
