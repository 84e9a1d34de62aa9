// The inspector's runs: the live one (the server's monitor messages of its training run or of the attached game, its history read from its file when the tab
// joins late or missed messages), the earlier ones opened from the folder's runs/ (overlaid on the curves), which run
// the graph's badges and the node and evaluation views show, and the badge metric and heat mode.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api";
import type { BadgeMetric, HeatMode } from "./metrics";
import { applyRecord, emptyRun, mergeRuns, parseRunFile, type MonitorRecord, type RunData } from "./records";

export interface MonitorMessage {
  runId: string;
  missed?: number;
  record: MonitorRecord;
}

/** The file of run `id` while it is the current one: a game attached over its live link (ids "live-N") or the editor's run. */
async function runFileOf(id: string): Promise<string | null> {
  const status = id.startsWith("live-") ? await api.live() : await api.training();
  return status.runId === id ? (status.runFile ?? null) : null;
}

export function useMonitor(runId: string | null) {
  const [live, setLive] = useState<RunData | null>(null);
  const [opened, setOpened] = useState<RunData[]>([]);
  /** Runs asked for whose files are being read: shown as open at once (their tick stays while they load). */
  const [opening, setOpening] = useState<string[]>([]);
  const openingNow = useRef<string[]>([]);
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const [metric, setMetric] = useState<BadgeMetric>("gradNorm");
  const [heatMode, setHeatMode] = useState<HeatMode>("off");
  const [error, setError] = useState<string | null>(null);
  const loading = useRef<string | null>(null);
  /** A read asked for while one was under way: it may have read the file before what was missed was written. */
  const again = useRef<string | null>(null);
  /** The run whose file has been read (its description and history are in `live`). */
  const loaded = useRef<string | null>(null);

  /** Reads the live run's file (everything so far) and merges what the stream brought meanwhile. */
  const loadHistory = useCallback(async function load(id: string): Promise<void> {
    if (loading.current === id) {
      again.current = id; // read again once this read is done
      return;
    }
    loading.current = id;
    try {
      const file = await runFileOf(id);
      if (!file) return;
      const history = parseRunFile(await api.runFile(file), file, id);
      setLive((current) => (current && current.runId === id ? { ...mergeRuns(history, current), key: file, missed: 0 } : history));
      loaded.current = id;
    } catch (e) {
      setError((e as Error).message);
    } finally {
      loading.current = null;
      if (again.current === id) {
        again.current = null;
        void load(id);
      }
    }
  }, []);

  const onMessage = useCallback(
    (message: MonitorMessage) => {
      setLive((current) => {
        let run = current && current.runId === message.runId ? current : emptyRun(`live:${message.runId}`, message.runId);
        run = applyRecord(run, message.record);
        return message.missed ? { ...run, missed: run.missed + message.missed } : run;
      });
      // until its file has been read (it may not exist yet when the run starts), and after messages were missed
      if (loaded.current !== message.runId || (message.missed ?? 0) > 0) void loadHistory(message.runId);
    },
    [loadHistory],
  );

  // a reload (or a run started in another tab): the current run's history; a cleared run: nothing shown
  useEffect(() => {
    if (runId === null) setLive(null);
    else void loadHistory(runId);
  }, [runId, loadHistory]);

  /** Sets the runs being opened (the ref for the loads in flight, the state for the page). */
  const setOpeningPaths = useCallback((paths: string[]) => {
    openingNow.current = paths;
    setOpening(paths);
  }, []);

  /** Opens an earlier run from the folder (overlaid on the curves once read); again to close it (or cancel its opening). */
  const toggleRun = useCallback(async (path: string) => {
    if (opened.some((r) => r.key === path) || opening.includes(path)) {
      setOpened((runs) => runs.filter((r) => r.key !== path));
      setOpeningPaths(openingNow.current.filter((p) => p !== path));
      setFocusKey((key) => (key === path ? null : key));
      return;
    }
    const stillWanted = () => openingNow.current.includes(path); // not closed while it loaded
    setOpeningPaths([...openingNow.current, path]);
    try {
      const run = parseRunFile(await api.runFile(path), path);
      if (stillWanted()) setOpened((runs) => [...runs.filter((r) => r.key !== path), run]);
    } catch (e) {
      if (stillWanted()) setError((e as Error).message);
    } finally {
      setOpeningPaths(openingNow.current.filter((p) => p !== path));
    }
  }, [opened, opening, setOpeningPaths]);

  /** Whether run file <path> is open, being opened, or the live run's. */
  const isOpen = useCallback(
    (path: string) => opening.includes(path) || opened.some((r) => r.key === path) || live?.key === path,
    [opening, opened, live],
  );

  const shown = useMemo(() => {
    const runs = live ? [live] : [];
    for (const run of opened) if (run.key !== live?.key) runs.push(run);
    return runs;
  }, [live, opened]);
  const focus = shown.find((r) => r.key === focusKey) ?? live ?? opened[0] ?? null;

  return { live, opened, shown, focus, setFocusKey, toggleRun, isOpen, onMessage, metric, setMetric, heatMode, setHeatMode, error, setError };
}

export type MonitorState = ReturnType<typeof useMonitor>;
