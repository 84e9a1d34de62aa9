// A node's panel: its statistics in the latest sample, its diagnostics, the distributions of its activations,
// gradients and weights over the steps, its feature maps for a chosen image (a test image or an uploaded one) and, for
// a convolution, its filters as a grid. Probes run on the training network between steps (or the document's weights).

import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api";
import type { LiveProbe, ProbeResult } from "../protocol";
import { DistributionChart, HistogramStack, type StepHistogram } from "./Distributions";
import { DatasetImage, ProbeImage, probeValues } from "./images";
import { formatMetric, weightsByNode } from "./metrics";
import { toBase64, type RunData } from "./records";

type Tensor = "activations" | "activationGradients" | "weights" | "weightGradients" | "updates";
const tensors: { id: Tensor; label: string }[] = [
  { id: "activations", label: "activations" },
  { id: "activationGradients", label: "∂L/∂activations" },
  { id: "weights", label: "weights" },
  { id: "weightGradients", label: "∂L/∂weights" },
  { id: "updates", label: "updates Δw" },
];

function histories(run: RunData, node: string, weight: string | undefined, tensor: Tensor): StepHistogram[] {
  return run.samples.flatMap((s) => {
    const n = s.nodes.find((x) => x.name === node);
    const p = weight ? s.parameters.find((x) => x.name === weight) : undefined;
    const h =
      tensor === "activations" ? n?.histogram
      : tensor === "activationGradients" ? n?.gradHistogram
      : tensor === "weights" ? p?.histogram
      : tensor === "weightGradients" ? p?.gradHistogram
      : p?.updateHistogram;
    return h ? [{ step: s.step, histogram: h }] : [];
  });
}

const fixed = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? "—" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(digits) : v.toExponential(2));
const percent = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)} %`);

/** A probe's planes as a grid: filters (O images of C planes; C = 3 in colour) or feature maps (C planes). */
function ProbeGrid({ result, testId }: { result: ProbeResult; testId: string }) {
  const values = useMemo(() => probeValues(result.values), [result]);
  const colour = result.kind === "filters" && result.channels === 3;
  const tiles: { key: string; values: Float32Array; channels: number }[] = [];
  const plane = result.height * result.width;
  const limit = 64;
  for (let i = 0; i < result.count && tiles.length < limit; i++)
    if (colour) tiles.push({ key: `${i}`, values: values.subarray(i * 3 * plane, (i + 1) * 3 * plane), channels: 3 });
    else for (let c = 0; c < result.channels && tiles.length < limit; c++) tiles.push({ key: `${i}-${c}`, values: values.subarray((i * result.channels + c) * plane, (i * result.channels + c + 1) * plane), channels: 1 });
  const scale = Math.max(1, Math.min(8, Math.floor(48 / Math.max(result.height, result.width))));
  return (
    <div className="probe-grid" data-testid={testId} data-tiles={tiles.length}>
      {tiles.map((t) => (
        <ProbeImage key={t.key} values={t.values} channels={t.channels} height={result.height} width={result.width} scale={scale} />
      ))}
    </div>
  );
}

/** Reads an uploaded image into the network's input: C×H×W bytes (BT.601 grey for one channel), resized by the browser. */
async function readUpload(file: File, shape: number[]): Promise<string> {
  const [channels, height, width] = shape;
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d")!;
  context.drawImage(bitmap, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const plane = width * height;
  const bytes = new Uint8Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (channels === 1) bytes[i] = Math.round((299 * r + 587 * g + 114 * b) / 1000);
    else [bytes[i], bytes[plane + i], bytes[2 * plane + i]] = [r, g, b];
  }
  return toBase64(bytes);
}

interface Props {
  run: RunData | null;
  node: string | null;
  nodeType: string | null;
  isFirstConvolution: boolean;
  /** The run is an attached game's: probes ask the game, feature maps are of its current frame. */
  game: boolean;
}

export function NodeView({ run, node, nodeType, isFirstConvolution, game }: Props) {
  const [tensor, setTensor] = useState<Tensor>("activations");
  const [testImage, setTestImage] = useState(0);
  const [maps, setMaps] = useState<ProbeResult | null>(null);
  const [filters, setFilters] = useState<ProbeResult | null>(null);
  const [probeError, setProbeError] = useState<string | null>(null);
  const weight = node ? weightsByNode(run?.description ?? null).get(node) : undefined;
  const sample = run?.samples[run.samples.length - 1];
  const stats = sample?.nodes.find((n) => n.name === node);
  const parameter = weight ? sample?.parameters.find((p) => p.name === weight) : undefined;

  const probe = useCallback(
    async (source: { testImage: number } | { pixels: string }) => {
      if (!node) return;
      setProbeError(null);
      try {
        setMaps(game ? await api.liveRequest<LiveProbe>({ op: "featureMaps", node }) : await api.featureMaps(node, source));
      } catch (e) {
        setProbeError((e as Error).message);
      }
    },
    [node, game],
  );

  useEffect(() => {
    setMaps(null);
    setFilters(null);
    if (!node) return;
    void probe({ testImage });
    if (nodeType === "Conv2d")
      (game ? api.liveRequest<LiveProbe>({ op: "filters", node }) : api.filters(node)).then(setFilters, (e: Error) => setProbeError(e.message));
    // the probes follow the chosen node and image, not every sample
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [node, nodeType, game]);

  if (!node) return <div className="hint">Select a node on the graph to see its statistics, distributions, feature maps and filters.</div>;
  const series = run ? histories(run, node, weight, tensor) : [];
  const diagnostics = run?.diagnostics?.items.filter((d) => d.node === node) ?? [];

  return (
    <div className="node-view" data-testid="node-view" data-node={node}>
      <div className="node-view-head">
        <b>{node}</b> {nodeType} {sample ? <span className="hint">step {sample.step}</span> : <span className="hint">no samples yet: train with the monitor</span>}
      </div>
      {diagnostics.map((d, i) => (
        <div key={i} className={`diagnostic-box ${d.severity}`} data-testid="node-view-diagnostic" data-kind={d.kind}>
          <b>{d.title}</b>: {d.message}. <i>{d.remedy}.</i>
        </div>
      ))}
      <div className="node-view-columns">
        <section>
          <h4>Statistics</h4>
          <table className="stats" data-testid="node-stats">
            <tbody>
              <tr><th>output mean / std</th><td>{fixed(stats?.mean)} / {fixed(stats?.std)}</td></tr>
              <tr><th>output min / max</th><td>{fixed(stats?.min)} / {fixed(stats?.max)}</td></tr>
              <tr><th>zeros</th><td>{percent(stats?.zeroFraction)}</td></tr>
              <tr><th>dead channels</th><td>{percent(stats?.deadChannelFraction)}</td></tr>
              <tr><th>saturated</th><td>{percent(stats?.saturatedFraction)}</td></tr>
              <tr><th>‖∂L/∂y‖</th><td>{fixed(stats?.gradNorm)}</td></tr>
              <tr><th>forward / backward</th><td>{stats?.forwardMs != null ? formatMetric("time", stats.forwardMs) : "—"} / {stats?.backwardMs != null ? formatMetric("time", stats.backwardMs) : "—"}</td></tr>
              {parameter && (
                <>
                  <tr><th>‖w‖ / ‖∂L/∂w‖</th><td>{fixed(parameter.weightNorm)} / {fixed(parameter.gradNorm)}</td></tr>
                  <tr><th>update ratio ‖Δw‖/‖w‖</th><td data-testid="node-update-ratio">{fixed(parameter.updateRatio)}</td></tr>
                  <tr><th>NaN or ∞ (w, ∂w)</th><td>{parameter.nonFinite} / {parameter.gradNonFinite}</td></tr>
                </>
              )}
            </tbody>
          </table>
        </section>
        <section className="grow">
          <h4>
            Distributions{" "}
            <select value={tensor} onChange={(e) => setTensor(e.target.value as Tensor)} data-testid="node-tensor">
              {tensors.filter((t) => weight || t.id.startsWith("activation")).map((t) => (
                <option key={t.id} value={t.id}>{t.label}</option>
              ))}
            </select>
          </h4>
          <DistributionChart series={series} testId="node-distributions" />
          <h4>Histograms</h4>
          <HistogramStack series={series} testId="node-histograms" />
        </section>
        <section className="grow">
          {game ? (
            <h4>
              Feature maps of the game's current frame{" "}
              <button className="small" onClick={() => void probe({ testImage })} data-testid="node-probe">current frame</button>{" "}
              {maps && "frame" in maps && <span className="hint" data-testid="node-probe-frame">frame {(maps as LiveProbe).frame}, step {(maps as LiveProbe).step}</span>}
            </h4>
          ) : (
            <h4>
              Feature maps{" "}
              <label>
                test image <input type="number" min={0} value={testImage} style={{ width: 60 }} onChange={(e) => setTestImage(Number(e.target.value))} data-testid="node-test-image" />
              </label>{" "}
              <button className="small" onClick={() => void probe({ testImage })} data-testid="node-probe">show</button>{" "}
              <label className="small-button">
                upload…
                <input
                  type="file"
                  accept="image/*"
                  hidden
                  data-testid="node-upload"
                  onChange={async (e) => {
                    const file = e.target.files?.[0];
                    if (!file) return;
                    if (!maps?.inputShape) return setProbeError("show a test image first: the upload is brought to the network's input size");
                    void probe({ pixels: await readUpload(file, maps.inputShape) });
                  }}
                />
              </label>
            </h4>
          )}
          {probeError && <div className="node-error block">{probeError}</div>}
          {maps && (
            <div className="row top">
              {maps.input && maps.inputShape && (
                <DatasetImage pixels={maps.input} shape={maps.inputShape} scale={2} testId="node-probe-input" title={maps.label !== undefined ? `label ${maps.label}` : "uploaded"} />
              )}
              <ProbeGrid result={maps} testId="node-feature-maps" />
            </div>
          )}
          {filters && (
            <>
              <h4>Filters{isFirstConvolution ? " (first convolution)" : ""}: {filters.count} × {filters.channels} × {filters.height} × {filters.width}</h4>
              <ProbeGrid result={filters} testId="node-filters" />
            </>
          )}
        </section>
      </div>
    </div>
  );
}

