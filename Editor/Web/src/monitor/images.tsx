// Images drawn on canvases: dataset images (bytes (C,H,W): grey or RGB planes) and probed tensors (floats: filters,
// feature maps), each scaled to its own range as CS231n's filter grids are.

import { useEffect, useRef } from "react";
import { fromBase64 } from "./records";

/** Draws bytes (C,H,W) into `canvas`: one grey plane, or R, G, B planes. */
export function drawBytes(canvas: HTMLCanvasElement, bytes: Uint8Array, channels: number, height: number, width: number) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d")!;
  const image = context.createImageData(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    const r = bytes[i];
    const g = channels === 3 ? bytes[plane + i] : r;
    const b = channels === 3 ? bytes[2 * plane + i] : r;
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/** Floats scaled to bytes by their own min and max (a constant plane is mid-grey). */
export function scaleToBytes(values: Float32Array): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++)
    bytes[i] = max > min && Number.isFinite(values[i]) ? Math.round((255 * (values[i] - min)) / (max - min)) : 128;
  return bytes;
}

/** A dataset image (base64 of its bytes) at `scale` × its size. */
export function DatasetImage({ pixels, shape, scale = 2, testId, title }: { pixels: string; shape: [number, number, number]; scale?: number; testId?: string; title?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [channels, height, width] = shape;
  useEffect(() => {
    if (canvas.current) drawBytes(canvas.current, fromBase64(pixels), channels, height, width);
  }, [pixels, channels, height, width]);
  return <canvas ref={canvas} className="pixelated" style={{ width: width * scale, height: height * scale }} data-testid={testId} title={title} />;
}

/** One plane or image of a probe result: floats (C,H,W) scaled by their own range; C = 3 drawn as colour. */
export function ProbeImage({ values, channels, height, width, scale, testId }: { values: Float32Array; channels: number; height: number; width: number; scale: number; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (canvas.current) drawBytes(canvas.current, scaleToBytes(values), channels === 3 ? 3 : 1, height, width);
  }, [values, channels, height, width]);
  return <canvas ref={canvas} className="pixelated probe-image" style={{ width: width * scale, height: height * scale }} data-testid={testId} />;
}

/** The float32 values of a probe result. */
export function probeValues(base64: string): Float32Array {
  const bytes = fromBase64(base64);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
