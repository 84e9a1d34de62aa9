// The game attached over its live link: its status (from GET /api/live, then the socket's {"type":"live"} messages),
// attach and detach, and the requests the game answers (probes, and control when the game allows it).

import { useCallback, useEffect, useState } from "react";
import { api } from "../api";
import type { LiveStatus } from "../protocol";

export function useLive(onError: (message: string) => void) {
  const [status, setStatus] = useState<LiveStatus | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.live().then(setStatus, () => {}); // the socket's greeting carries the same status
  }, []);

  const onLive = useCallback((next: LiveStatus) => setStatus(next), []);

  const run = useCallback(
    async (action: () => Promise<unknown>) => {
      setBusy(true);
      try {
        await action();
        return true;
      } catch (e) {
        onError((e as Error).message);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [onError],
  );

  const attach = useCallback((url: string) => run(async () => setStatus(await api.attach(url))), [run]);
  const detach = useCallback(() => run(() => api.detach()), [run]);
  /** pause, resume, lr (with the new rate), checkpoint: the game's answer updates the status through the socket. */
  const control = useCallback((op: "pause" | "resume" | "lr" | "checkpoint", value?: number) =>
    run(() => api.liveRequest({ op, ...(value === undefined ? {} : { value }) })), [run]);

  const attached = status?.state === "attached";
  return { status, attached, busy, onLive, attach, detach, control };
}

export type LiveState = ReturnType<typeof useLive>;
