// HTTP and WebSocket access to `neuro serve`. The page is opened as /?token=…; the server answers that
// request with an HttpOnly cookie, and the token is also kept for this tab (sessionStorage) and sent as
// X-Neuro-Token, so requests authenticate even where a cookie is not sent.

import type { EvaluationRecord } from "./monitor/records";
import type {
  Command,
  FileEntry,
  LayerSpec,
  LiveStatus,
  NetworkDocument,
  PastedNode,
  ProbeResult,
  RunEntry,
  ServerMessage,
  TestImages,
  TemplateOptions,
  TemplatePreview,
  TemplateSpec,
  TrainingForm,
  SearchRequest,
  SearchStatus,
  TrainingRequest,
  TrainingSchema,
  TrainingStatus,
} from "./protocol";

const tokenKey = "neuro-token";

function readToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    sessionStorage.setItem(tokenKey, fromUrl);
    // Keep the token out of the address bar (and out of screenshots and bookmarks).
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(tokenKey);
}

const token = readToken();

/** A 4xx/5xx answer; `message` is the server's `{ "error": … }` text, which names the node/field/file; `field` is the
 * request field at fault when the server names one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** Round-trip timings of the last requests, read by the end-to-end tests (window.__neuroTimings). */
export interface RequestTiming {
  what: string;
  /** performance.now() when the request was sent. */
  startedAt: number;
  /** Request sent → JSON parsed (the server's shape inference included). */
  requestMs: number;
  /** The server's own figure from the Server-Timing header, when it sends one. */
  serverMs: number | null;
  /** Request sent → the new document drawn (set by the canvas after it renders). */
  renderedMs?: number;
  revision?: number;
}

declare global {
  interface Window {
    __neuroTimings: RequestTiming[];
    /** Requests sent and not yet answered (tests wait for 0 before reading the page). */
    __neuroPending: number;
  }
}
window.__neuroTimings = [];
window.__neuroPending = 0;

function serverTiming(response: Response): number | null {
  const header = response.headers.get("Server-Timing");
  const match = header ? /dur=([0-9.]+)/.exec(header) : null;
  return match ? Number(match[1]) : null;
}

async function request<T>(method: string, path: string, body?: unknown, what = path): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers["X-Neuro-Token"] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const started = performance.now();
  window.__neuroPending++;
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    text = await response.text();
  } finally {
    window.__neuroPending--;
  }
  let json: unknown = null;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const body = json && typeof json === "object" ? (json as { error?: unknown; field?: unknown }) : {};
    const message = body.error !== undefined ? String(body.error) : `${method} ${path}: HTTP ${response.status}`;
    throw new ApiError(response.status, message, typeof body.field === "string" ? body.field : null);
  }
  const timing: RequestTiming = { what, startedAt: started, requestMs: performance.now() - started, serverMs: serverTiming(response) };
  if (json && typeof json === "object" && "revision" in json) timing.revision = (json as NetworkDocument).revision;
  window.__neuroTimings.push(timing);
  if (window.__neuroTimings.length > 200) window.__neuroTimings.shift();
  return json as T;
}

export const api = {
  document: () => request<NetworkDocument>("GET", "/api/document"),
  command: (command: Command) => request<NetworkDocument>("POST", "/api/document/commands", command, command.op),
  copy: (ids: string[]) => request<{ nodes: PastedNode[] }>("POST", "/api/document/commands", { op: "copy", ids }, "copy"),
  undo: () => request<NetworkDocument>("POST", "/api/document/undo", {}, "undo"),
  redo: () => request<NetworkDocument>("POST", "/api/document/redo", {}, "redo"),
  layers: () => request<LayerSpec[]>("GET", "/api/layers"),
  templates: () => request<TemplateSpec[]>("GET", "/api/templates"),
  previewTemplate: (template: string, dataset: string | null, options?: Partial<TemplateOptions>) =>
    request<TemplatePreview>("POST", "/api/templates/preview", { template, ...(dataset ? { dataset } : {}), ...(options ? { options } : {}) }, "preview"),
  files: () => request<FileEntry[]>("GET", "/api/files"),
  open: (path: string) => request<NetworkDocument>("POST", "/api/document/open", { path }, "open"),
  save: (path?: string) => request<NetworkDocument>("POST", "/api/document/save", path ? { path } : {}, "save"),
  exportOnnx: (path: string) => request<{ path: string }>("POST", "/api/document/export", { path }, "export"),
  training: () => request<TrainingStatus>("GET", "/api/training"),
  startTraining: (body: TrainingRequest) => request<{ runId: string }>("POST", "/api/training/start", body, "train"),
  stopTraining: () => request<{ stopped: boolean }>("POST", "/api/training/stop", {}, "stop"),
  trainingSchema: () => request<TrainingSchema>("GET", "/api/training/schema"),
  trainingForm: () => request<TrainingForm>("GET", "/api/training/form"),
  saveTrainingForm: (form: TrainingForm) => request<TrainingForm>("PUT", "/api/training/form", form, "training form"),
  runs: () => request<RunEntry[]>("GET", "/api/runs"),
  runFile: (path: string) => requestText(`/api/runs/file?path=${encodeURIComponent(path)}`),
  filters: (node: string | null) => request<ProbeResult>("POST", "/api/inspect/filters", { node }, "filters"),
  featureMaps: (node: string, source: { testImage: number } | { pixels: string }) =>
    request<ProbeResult>("POST", "/api/inspect/featureMaps", { node, ...source }, "featureMaps"),
  evaluate: (limit?: number) => request<EvaluationRecord>("POST", "/api/inspect/evaluate", limit ? { limit } : {}, "evaluate"),
  testImages: (indices: number[]) => request<TestImages>("GET", `/api/inspect/images?indices=${indices.join(",")}`),
  cell: (label: number, predicted: number, limit = 64) =>
    request<TestImages & { count: number }>("GET", `/api/inspect/cell?label=${label}&predicted=${predicted}&limit=${limit}`),
  live: () => request<LiveStatus>("GET", "/api/live"),
  attach: (url: string) => request<LiveStatus>("POST", "/api/live/attach", { url }, "attach"),
  detach: () => request<{ detached: boolean }>("POST", "/api/live/detach", {}, "detach"),
  /** A probe or control request to the attached game; the answer is the game's probe or control message. */
  liveRequest: <T>(body: { op: string; node?: string; value?: number }) => request<T>("POST", "/api/live/request", body, `live ${body.op}`),
  search: () => request<SearchStatus>("GET", "/api/search"),
  startSearch: (body: SearchRequest) => request<{ searchId: string }>("POST", "/api/search/start", body, "search"),
  stopSearch: () => request<{ stopped: boolean }>("POST", "/api/search/stop", {}, "stop search"),
};

/** A text answer (a run file), with the same authentication and error handling as the JSON requests. */
async function requestText(path: string): Promise<string> {
  const headers: Record<string, string> = {};
  if (token) headers["X-Neuro-Token"] = token;
  window.__neuroPending++;
  try {
    const response = await fetch(path, { headers, credentials: "same-origin" });
    const text = await response.text();
    if (!response.ok) {
      let message = `GET ${path}: HTTP ${response.status}`;
      try {
        message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
      } catch {
        // not JSON
      }
      throw new ApiError(response.status, message);
    }
    return text;
  } finally {
    window.__neuroPending--;
  }
}

/**
 * Keeps one WebSocket to /ws open (reconnecting after a drop) and hands every server message to `onMessage`.
 * Returns a function that closes it for good.
 */
export function connectSocket(onMessage: (message: ServerMessage) => void, onOpenChange: (open: boolean) => void): () => void {
  let socket: WebSocket | null = null;
  let closed = false;
  let retry: number | undefined;
  const open = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws${query}`);
    socket.onopen = () => onOpenChange(true);
    socket.onmessage = (event) => {
      try {
        onMessage(JSON.parse(String(event.data)) as ServerMessage);
      } catch {
        // A message that is not JSON is not ours; ignore it.
      }
    };
    socket.onclose = () => {
      onOpenChange(false);
      if (!closed) retry = window.setTimeout(open, 1000);
    };
  };
  open();
  return () => {
    closed = true;
    window.clearTimeout(retry);
    socket?.close();
  };
}
