// What the end-to-end tests and the timing figures read from the page: the revision the canvas has drawn (on the app's
// data-rendered-revision) and, in window.__neuroTimings, how long each request took until its document was drawn.
// Nothing here changes what the editor does.

import { useEffect, useState, type RefObject } from "react";
import type { NetworkDocument } from "./protocol";
import type { FlowNode } from "./view";

/** The revision drawn: set two frames after the drawn nodes change (React Flow has rendered and measured them). */
export function useRenderedRevision(docRef: RefObject<NetworkDocument | null>, nodes: FlowNode[]): number {
  const [renderedRevision, setRenderedRevision] = useState(-1);
  useEffect(() => {
    const current = docRef.current;
    if (!current) return;
    const revision = current.revision;
    const frame = requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const timing = [...window.__neuroTimings].reverse().find((t) => t.revision === revision);
        if (timing && timing.renderedMs === undefined) timing.renderedMs = performance.now() - timing.startedAt;
        setRenderedRevision(revision);
      }),
    );
    return () => cancelAnimationFrame(frame);
  }, [nodes, docRef]);
  return renderedRevision;
}
