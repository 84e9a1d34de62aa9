#version 430
// pool2d.comp: max and average pooling, forward and backward side by side.
//   x (N,C,H,W); y and argmax (N,C,OH,OW); window tap (p,q) of output (i,j) reads
//   x[n,c, i·SH − PT + p·DH, j·SW − PL + q·DW]   (geometry compiled in, see window2d.glsl).
// Variants: MAX_FORWARD, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD. Forward: one invocation per output
// element. Backward: one invocation per input element, gathering over the windows that contain it
// (so each gradient element has one writer and no atomics are needed), adding into dx; when windows do
// not overlap, MAX_BACKWARD_DISJOINT and AVG_BACKWARD_DISJOINT write from each output instead.
#include "common.glsl"
#include "window2d.glsl"

#if defined(MAX_FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };
layout(std430, binding = OUTPUT1) writeonly buffer ArgmaxBuffer { float argmax[]; };

// y = max over the in-bounds taps (padding counts as −∞); argmax = h·W + w of the first maximum in
// row-major window order, stored as a float (exact below 2^24).
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y * OH * OW) return;
    int j = index % OW, i = (index / OW) % OH, plane = index / (OW * OH);
    float best = negativeInfinity;
    int bestAt = -1;
    for (int p = 0; p < KH; p++)
    {
        int iy = i * SH - PT + p * DH;
        if (iy < 0 || iy >= H) continue;
        for (int q = 0; q < KW; q++)
        {
            int ix = j * SW - PL + q * DW;
            if (ix < 0 || ix >= W) continue;
            float v = x[(plane * H + iy) * W + ix];
            if (bestAt < 0 || v > best) { best = v; bestAt = iy * W + ix; }
        }
    }
    y[index] = best;
    argmax[index] = float(bestAt);
}

#elif defined(MAX_BACKWARD)
layout(std430, binding = INPUT0) readonly buffer ArgmaxBuffer { float argmax[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y = x[argmax]: dx[n,c,h,w] += Σ dy over the windows containing (h,w)
// whose argmax is (h,w).
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= inputShape.x * inputShape.y * H * W) return;
    int ix = index % W, iy = (index / W) % H, plane = index / (W * H);
    float self = float(iy * W + ix);
    float sum = 0.0;
    for (int p = 0; p < KH; p++)
    {
        int i = OUTPUT_ROW_FOR(iy, p);
        if (i < 0) continue;
        for (int q = 0; q < KW; q++)
        {
            int j = OUTPUT_COLUMN_FOR(ix, q);
            if (j < 0) continue;
            int at = (plane * OH + i) * OW + j;
            if (argmax[at] == self) sum += dy[at];
        }
    }
    dx[index] += sum;
}

#elif defined(MAX_BACKWARD_DISJOINT)
layout(std430, binding = INPUT0) readonly buffer ArgmaxBuffer { float argmax[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// MAX_BACKWARD when windows do not overlap (stride ≥ window extent on both axes, e.g. 2×2 stride 2):
// each input element lies in at most one window, so one invocation per output adds its dy at its argmax
// and no two invocations touch the same element. A quarter of the gather's work for 2×2 windows.
void main()
{
    int index = flatIndex();
    int planeOutputs = outputShape.z * outputShape.w;
    if (index >= outputShape.x * outputShape.y * planeOutputs) return;
    int at = int(argmax[index]);
    if (at >= 0) dx[(index / planeOutputs) * inputShape.z * inputShape.w + at] += dy[index];
}

#elif defined(AVG_FORWARD) || defined(AVG_BACKWARD) || defined(AVG_BACKWARD_DISJOINT)
uniform int countIncludePad; // 1: divide by KH·KW (PyTorch's default); 0: by the in-bounds taps

float windowCount(int i, int j)
{
    if (countIncludePad != 0) return float(KH * KW);
    return float(tapsInside(i * SH - PT, KH, DH, inputShape.z) * tapsInside(j * SW - PL, KW, DW, inputShape.w));
}

#if defined(AVG_FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

// y = Σ in-bounds taps / count.
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y * OH * OW) return;
    int j = index % OW, i = (index / OW) % OH, plane = index / (OW * OH);
    float sum = 0.0;
    for (int p = 0; p < KH; p++)
    {
        int iy = i * SH - PT + p * DH;
        if (iy < 0 || iy >= H) continue;
        for (int q = 0; q < KW; q++)
        {
            int ix = j * SW - PL + q * DW;
            if (ix < 0 || ix >= W) continue;
            sum += x[(plane * H + iy) * W + ix];
        }
    }
    y[index] = sum / windowCount(i, j);
}

#elif defined(AVG_BACKWARD_DISJOINT)
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// AVG_BACKWARD when windows do not overlap: one invocation per output adds dy / count to the in-bounds
// elements of its own window, which belong to no other window.
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y * OH * OW) return;
    int j = index % OW, i = (index / OW) % OH, plane = index / (OW * OH);
    float share = dy[index] / windowCount(i, j);
    for (int p = 0; p < KH; p++)
    {
        int iy = i * SH - PT + p * DH;
        if (iy < 0 || iy >= H) continue;
        for (int q = 0; q < KW; q++)
        {
            int ix = j * SW - PL + q * DW;
            if (ix < 0 || ix >= W) continue;
            dx[(plane * H + iy) * W + ix] += share;
        }
    }
}

#else
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y = Σ window / count: dx[h,w] += Σ dy / count over the windows containing (h,w).
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= inputShape.x * inputShape.y * H * W) return;
    int ix = index % W, iy = (index / W) % H, plane = index / (W * H);
    float sum = 0.0;
    for (int p = 0; p < KH; p++)
    {
        int i = OUTPUT_ROW_FOR(iy, p);
        if (i < 0) continue;
        for (int q = 0; q < KW; q++)
        {
            int j = OUTPUT_COLUMN_FOR(ix, q);
            if (j < 0) continue;
            sum += dy[(plane * OH + i) * OW + j] / windowCount(i, j);
        }
    }
    dx[index] += sum;
}
#endif
#endif
