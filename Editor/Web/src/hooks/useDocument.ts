// The document as the server last sent it, and the one way to change it: a request whose answer (the new document)
// replaces what is drawn. Documents also arrive over the WebSocket (another tab, undo elsewhere); the newest revision
// wins. What should happen once a document is drawn (lay it out, fit it, select new nodes) is registered with the
// request, keyed by the revision it answers, and carried out by the canvas.

import { useCallback, useRef, useState } from "react";
import { api } from "../api";
import type { Command, NetworkDocument } from "../protocol";

/** What to do once the answered document is drawn. */
export interface AfterDraw {
  /** Lay the graph out: always, or only when drawn nodes overlap. */
  layout?: "always" | "ifOverlapping";
  /** Fold that layout into the change that made the document (default); false: an undo step of its own. */
  amend?: boolean;
  /** Fit the view once the (laid-out) document is drawn. */
  fit?: boolean;
  /** Select these nodes, or the nodes the change added. */
  select?: string[] | "added";
}

export interface PendingDraw extends AfterDraw {
  revision: number;
  select?: string[];
}

export function useDocument() {
  const [doc, setDoc] = useState<NetworkDocument | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** A confirmation of what an action did (a file exported), shown until the next action. */
  const [notice, setNotice] = useState<string | null>(null);
  const docRef = useRef<NetworkDocument | null>(null);
  const pendingDraw = useRef<PendingDraw | null>(null);

  /** Takes a newer document (an equal revision only when `redraw`: the same document drawn again, with a selection). */
  const acceptDocument = useCallback((next: NetworkDocument, redraw = false) => {
    const current = docRef.current;
    if (current && (next.revision < current.revision || (next.revision === current.revision && !redraw))) return;
    docRef.current = next;
    setDoc(redraw ? { ...next } : next);
  }, []);

  /** Sends a request that answers a document; on failure shows the server's message and answers null. */
  const run = useCallback(
    async (call: () => Promise<NetworkDocument>, after?: AfterDraw): Promise<NetworkDocument | null> => {
      const before = docRef.current;
      try {
        const next = await call();
        if (after) {
          const known = new Set(before?.nodes.map((n) => n.id) ?? []);
          const select = after.select === "added" ? next.nodes.filter((n) => !known.has(n.id)).map((n) => n.id) : after.select;
          pendingDraw.current = { ...after, select, revision: next.revision };
        }
        // the WebSocket may have brought this revision already: draw it again so that `after` is carried out
        acceptDocument(next, after !== undefined);
        setError(null);
        setNotice(null);
        return next;
      } catch (e) {
        setError((e as Error).message);
        return null;
      }
    },
    [acceptDocument],
  );

  const command = useCallback((c: Command, after?: AfterDraw) => run(() => api.command(c), after), [run]);

  return { doc, docRef, acceptDocument, run, command, error, setError, notice, setNotice, pendingDraw };
}

export type DocumentState = ReturnType<typeof useDocument>;
