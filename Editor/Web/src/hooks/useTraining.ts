// The training run as the Train tab shows it: the reducer's view, start and stop, and clearing the last run's numbers
// when the document is replaced (its file changes: new, open, a model template), so they are never shown against a
// network they do not belong to.

import { useCallback, useEffect, useReducer, useRef } from "react";
import { api } from "../api";
import type { TrainingRequest } from "../protocol";
import { noTraining, trainingReducer } from "../trainingState";

/** Where the cleared run's id is kept, so that a reload does not show its numbers again. */
const hiddenRunKey = "neuro-hidden-run";

export function useTraining(documentFile: number | null) {
  const [view, dispatch] = useReducer(trainingReducer, noTraining, (initial) => ({ ...initial, hiddenRunId: sessionStorage.getItem(hiddenRunKey) }));
  useEffect(() => {
    if (view.hiddenRunId) sessionStorage.setItem(hiddenRunKey, view.hiddenRunId);
  }, [view.hiddenRunId]);

  const shownFile = useRef<number | null>(null);
  useEffect(() => {
    if (documentFile === null) return;
    if (shownFile.current !== null && shownFile.current !== documentFile) dispatch({ kind: "documentReplaced" });
    shownFile.current = documentFile;
  }, [documentFile]);

  const start = useCallback(async (request: TrainingRequest) => {
    try {
      // the run id also arrives with every training message; take it from there when the answer lacks it
      const answer = await api.startTraining(request);
      dispatch({ kind: "started", runId: answer?.runId ?? null });
    } catch (e) {
      dispatch({ kind: "requestFailed", error: (e as Error).message });
    }
  }, []);

  const stop = useCallback(async () => {
    try {
      await api.stopTraining();
    } catch (e) {
      dispatch({ kind: "requestFailed", error: (e as Error).message });
    }
  }, []);

  return { view, dispatch, start, stop, running: view.state === "running" };
}
