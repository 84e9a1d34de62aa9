#version 430
// conv2d.comp: 2-D convolution (cross-correlation, as PyTorch), forward and backward side by side.
//   x (N,C,H,W), w (O,C,KH,KW), b (O), y (N,O,OH,OW)
//   y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·SH − PT + p·DH, j·SW − PL + q·DW]·w[o,c,p,q]   (zero outside x)
// Variants: FORWARD, INPUT_GRAD (with TRANSPOSED: ConvTranspose2d's forward pass), WEIGHT_GRAD (+ reduce.comp),
// BIAS_GRAD (+ reduce.comp; also AddChannelSums).
// FORWARD's fused epilogue (inference plans, IFusedConvolution): y = act(bn(conv(x) + b) + r), each part optional —
// FUSED_BATCH_NORM: eval-mode batch norm (v − mean)·(1/√(var + ε)·γ) + β, as batchnorm.comp's EVAL and NORMALIZE
// compute it; FUSED_RESIDUAL=<binding>: + r (y's shape, as merge.comp's Add); one of activation.glsl's variants (RELU…,
// with ACTIVATION). Each part repeats the separate kernel's arithmetic, so the fused output has the unfused bits.
// FUSED_MAX_POOL (below) then max-pools that output before writing it.
// Grouped convolution (GROUPS > 1; depthwise when GROUPS = C): w is (O, C/GROUPS, KH, KW) and output
// channel o of group g = o / (O/GROUPS) reads only input channels g·C/GROUPS … (g+1)·C/GROUPS − 1.
// GLBackend.Conv2d.cs picks channel blocks that never straddle two groups, so one invocation works in
// one group.
// The window geometry (KH, KW, SH, SW, PT, PL, DH, DW) and the register block (BLOCK_CHANNELS,
// BLOCK_COLUMNS) are compiled in per layer by GLBackend.Conv2d.cs. Register blocking instead of shared
// memory (barrier() is slow on llvmpipe, and a buffer load costs there far more than an FMA): each
// invocation computes a block of outputs and reuses every value it loads many times. Every output
// element has exactly one writer (no atomics); gradients are added (+=).
#include "common.glsl"
#include "window2d.glsl"
#ifndef GROUPS
#define GROUPS 1
#endif

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer WeightBuffer { float w[]; };
#if defined(FUSED_BATCH_NORM) && defined(FUSED_RESIDUAL)
// no bias (GLBackend.CanFuse): its binding point carries the residual, and no bias block is declared, so the variant
// declares 8 storage blocks (OpenGL 4.3's minimum per shader counts declared blocks, not binding points)
#define BIAS(o) 0.0
#else
layout(std430, binding = INPUT2) readonly buffer BiasBuffer { float b[]; };
uniform int hasBias;
#define BIAS(o) (hasBias != 0 ? b[o] : 0.0)
#endif
#if defined(RESUME_SUMS)
layout(std430, binding = OUTPUT0) buffer OutputBuffer { float y[]; };
#else
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };
#endif
#if defined(FUSED_BATCH_NORM)
// Every binding point is taken when a batch norm joins: its running statistics sit at two output points, read only.
layout(std430, binding = INPUT3) readonly buffer GammaBuffer { float gamma[]; };
layout(std430, binding = INPUT4) readonly buffer BetaBuffer { float beta[]; };
layout(std430, binding = OUTPUT1) readonly buffer RunningMeanBuffer { float runningMean[]; };
layout(std430, binding = OUTPUT2) readonly buffer RunningVarBuffer { float runningVar[]; };
uniform float epsilon;
#endif
#if defined(FUSED_RESIDUAL)
layout(std430, binding = FUSED_RESIDUAL) readonly buffer ResidualBuffer { float residual[]; };
#endif
#if defined(ACTIVATION)
#include "activation.glsl"
#endif

#if defined(FUSED_MAX_POOL)
// FUSED_MAX_POOL (inference plans, IFusedPoolForward): y is the max pooling of the fused convolution's output, whose
// (OH, OW) is convolutionSize; the pool's geometry is PKH, PKW, PSH, PSW, PPT, PPL, PDH, PDW (as window2d.glsl's
// for the convolution). BLOCK_COLUMNS counts pooled columns; their windows span CONV_COLUMNS convolution columns.
uniform ivec2 convolutionSize;
#define CONV_COLUMNS ((BLOCK_COLUMNS - 1) * PSW + (PKW - 1) * PDW + 1)
#else
#define CONV_COLUMNS BLOCK_COLUMNS
#endif

// The input columns one row of taps touches for CONV_COLUMNS neighbouring outputs.
#define SEGMENT ((CONV_COLUMNS - 1) * SW + (KW - 1) * DW + 1)

// The block convolveRow computes: acc[k][m] = b[o0+k] + Σ_{c,p,q} x·w at output (n, o0+k, i, j0+m).
float acc[BLOCK_CHANNELS][CONV_COLUMNS];

// Starts acc at the block's biases (channels past O: channel O−1's).
void startSums(int o0)
{
    for (int k = 0; k < BLOCK_CHANNELS; k++)
    {
        float start = BIAS(min(o0 + k, outputShape.y - 1));
        for (int m = 0; m < CONV_COLUMNS; m++) acc[k][m] = start;
    }
}

// Adds input channels [c0, c1) of the block's group (the sum over c in order) to acc, for output row (n, i), columns
// j0 … j0+CONV_COLUMNS−1, channels o0 … o0+BLOCK_CHANNELS−1. Per input row of taps it loads the row segment once and
// uses each value for every (column, tap, channel) it meets. Channels past O (last block) read channel O−1 (in bounds);
// columns past OW, or before 0, read clamped input columns: neither is written.
void addChannels(int n, int i, int j0, int o0, int c0, int c1)
{
    int C = inputShape.y, H = inputShape.z, W = inputShape.w, O = outputShape.y;
    int groupChannels = C / GROUPS;                            // input channels per group
    int firstChannel = (o0 / (O / GROUPS)) * groupChannels;    // this block's group
    int weightBase[BLOCK_CHANNELS];
    for (int k = 0; k < BLOCK_CHANNELS; k++) weightBase[k] = min(o0 + k, O - 1) * groupChannels * KH * KW;
    int firstColumn = j0 * SW - PL;
    for (int c = c0; c < c1; c++)
    {
        for (int p = 0; p < KH; p++)
        {
            int iy = i * SH - PT + p * DH;
            if (iy < 0 || iy >= H) continue;
            int inputRow = ((n * C + firstChannel + c) * H + iy) * W;
            float segment[SEGMENT];
            for (int s = 0; s < SEGMENT; s++)
            {
                int ix = firstColumn + s;
                float v = x[inputRow + clamp(ix, 0, W - 1)]; // read in bounds, then apply the zero padding
                segment[s] = (ix >= 0 && ix < W) ? v : 0.0;
            }
            int tapRow = (c * KH + p) * KW;
            for (int k = 0; k < BLOCK_CHANNELS; k++)
                for (int q = 0; q < KW; q++)
                {
                    float wk = w[weightBase[k] + tapRow + q];
                    for (int m = 0; m < CONV_COLUMNS; m++)
                        acc[k][m] = fma(wk, segment[m * SW + q * DW], acc[k][m]);
                }
        }
    }
}

// The whole sum of output row (n, i)'s block into acc.
void convolveRow(int n, int i, int j0, int o0)
{
    startSums(o0);
    addChannels(n, i, j0, o0, 0, inputShape.y / GROUPS);
}

// Channel o's folded batch norm (mean, scale, shift), as batchnorm.comp's EVAL computes it (zeros without one).
vec3 batchNormOf(int o)
{
#if defined(FUSED_BATCH_NORM)
    return vec3(runningMean[o], (1.0 / sqrt(runningVar[o] + epsilon)) * gamma[o], beta[o]);
#else
    return vec3(0.0);
#endif
}

// The fused epilogue of the convolution's output v at flat index `at` (N,O,OH,OW) of channel o (batchNormOf(o) in bn).
float finish(float v, vec3 bn, int at)
{
#if defined(FUSED_BATCH_NORM)
    v = (v - bn.x) * bn.y + bn.z;
#endif
#if defined(FUSED_RESIDUAL)
    v = v + residual[at];
#endif
#if defined(ACTIVATION)
    v = activate(vec4(v)).x;
#endif
    return v;
}

#if !defined(FUSED_MAX_POOL)
// A work slice may run the sum over a group's input channels in ranges, one dispatch each (GLBackend's
// ForwardChannelRanges), so that a convolution with many channels still comes in pieces small enough for a frame: the
// range is channelRange (c0, c1). RESUME_SUMS: acc starts from the raw sums y holds (the ranges before), not the bias.
// PARTIAL_SUMS: acc is written raw, without the epilogue (ranges follow). The sums meet the same additions in the same
// order whatever the ranges, so the output has the bits of one dispatch.
#if defined(RESUME_SUMS) || defined(PARTIAL_SUMS)
uniform ivec2 channelRange;
#endif

// One invocation: output row (n, i), columns j0 … j0+BLOCK_COLUMNS−1, output channels o0 … o0+BLOCK_CHANNELS−1
// (the channel block is the work group's y).
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int O = outputShape.y, OH = outputShape.z, OW = outputShape.w;
    int columnBlocks = (OW + BLOCK_COLUMNS - 1) / BLOCK_COLUMNS;
    int index = flatIndex();
    if (index >= outputShape.x * OH * columnBlocks) return;
    int j0 = (index % columnBlocks) * BLOCK_COLUMNS;
    int i = (index / columnBlocks) % OH, n = index / (columnBlocks * OH);
    int o0 = groupRow() * BLOCK_CHANNELS;
#if defined(RESUME_SUMS)
    for (int k = 0; k < BLOCK_CHANNELS && o0 + k < O; k++)
        for (int m = 0; m < BLOCK_COLUMNS && j0 + m < OW; m++)
            acc[k][m] = y[((n * O + o0 + k) * OH + i) * OW + j0 + m];
#else
    startSums(o0);
#endif
#if defined(RESUME_SUMS) || defined(PARTIAL_SUMS)
    addChannels(n, i, j0, o0, channelRange.x, channelRange.y);
#else
    addChannels(n, i, j0, o0, 0, inputShape.y / GROUPS);
#endif
    for (int k = 0; k < BLOCK_CHANNELS && o0 + k < O; k++)
    {
        vec3 bn = batchNormOf(o0 + k);
        for (int m = 0; m < BLOCK_COLUMNS && j0 + m < OW; m++)
        {
            int at = ((n * O + o0 + k) * OH + i) * OW + j0 + m;
#if defined(PARTIAL_SUMS)
            y[at] = acc[k][m];
#else
            y[at] = finish(acc[k][m], bn, at);
#endif
        }
    }
}
#else
// One invocation: pooled row (n, i), pooled columns j0 … j0+BLOCK_COLUMNS−1, channels o0 … o0+BLOCK_CHANNELS−1. For each
// pool tap row in the convolution's output it computes that row's CONV_COLUMNS columns (convolveRow) and its epilogue,
// and takes the maximum over the in-bounds taps in row-major window order as pool2d.comp's MAX_FORWARD does (padding
// is −∞; the first in-bounds tap is taken whatever its value, then only a greater one): the unfused bits. Windows that
// overlap (stride < extent) compute the rows and columns they share again.
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int O = outputShape.y, POH = outputShape.z, POW = outputShape.w, OH = convolutionSize.x, OW = convolutionSize.y;
    int columnBlocks = (POW + BLOCK_COLUMNS - 1) / BLOCK_COLUMNS;
    int index = flatIndex();
    if (index >= outputShape.x * POH * columnBlocks) return;
    int j0 = (index % columnBlocks) * BLOCK_COLUMNS;
    int i = (index / columnBlocks) % POH, n = index / (columnBlocks * POH);
    int o0 = groupRow() * BLOCK_CHANNELS;
    int convolutionColumn = j0 * PSW - PPL;                    // the convolution column of acc[k][0]

    vec3 bn[BLOCK_CHANNELS];
    float best[BLOCK_CHANNELS][BLOCK_COLUMNS];
    bool seen[BLOCK_COLUMNS];                                  // a tap of the window was taken (the same for every channel)
    for (int k = 0; k < BLOCK_CHANNELS; k++)
    {
        bn[k] = batchNormOf(min(o0 + k, O - 1));
        for (int m = 0; m < BLOCK_COLUMNS; m++) best[k][m] = negativeInfinity;
    }
    for (int m = 0; m < BLOCK_COLUMNS; m++) seen[m] = false;
    for (int p = 0; p < PKH; p++)
    {
        int row = i * PSH - PPT + p * PDH;
        if (row < 0 || row >= OH) continue;
        convolveRow(n, row, convolutionColumn, o0);
        for (int m = 0; m < BLOCK_COLUMNS; m++)
            for (int q = 0; q < PKW; q++)
            {
                int s = m * PSW + q * PDW, column = convolutionColumn + s;
                if (column < 0 || column >= OW) continue;
                for (int k = 0; k < BLOCK_CHANNELS; k++)
                {
                    float v = finish(acc[k][s], bn[k], ((n * O + min(o0 + k, O - 1)) * OH + row) * OW + column);
                    if (!seen[m] || v > best[k][m]) best[k][m] = v;
                }
                seen[m] = true;
            }
    }
    for (int k = 0; k < BLOCK_CHANNELS && o0 + k < O; k++)
        for (int m = 0; m < BLOCK_COLUMNS && j0 + m < POW; m++)
            y[((n * O + o0 + k) * POH + i) * POW + j0 + m] = best[k][m];
}
#endif

#elif defined(INPUT_GRAD)
layout(std430, binding = INPUT0) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = INPUT1) readonly buffer WeightBuffer { float w[]; };
#if defined(TRANSPOSED)
// A transposed convolution's forward pass is this sum: dy is its input, dx its output, overwritten with sum + b[c].
layout(std430, binding = INPUT2) readonly buffer BiasBuffer { float b[]; };
layout(std430, binding = OUTPUT0) writeonly buffer InputGradBuffer { float dx[]; };
uniform int hasBias;
#else
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };
uniform int accumulate; // 0: dx = 0 + sum, set without reading dx (its first contributor in a step)
#endif

// In the forward pass x[n,c,iy,ix] met w[o,c,p,q] in every output (i,j) with i·SH − PT + p·DH = iy and
// j·SW − PL + q·DW = ix, so dx[n,c,iy,ix] += Σ_{o,p,q} dy[n,o,i,j]·w[o,c,p,q] over those outputs
// (a gather: one writer per element).
// One invocation: input row (n, iy), columns ix0 … ix0+BLOCK_COLUMNS−1, input channels c0 … c0+BLOCK_CHANNELS−1.
// Neighbouring invocations are the images of the batch (n varies fastest), so the invocations that run as one SIMD
// vector (8 on llvmpipe with AVX2, a warp on a GPU) share the row and the column block: their tap rows and loop trip
// counts are equal, and none runs masked through another's taps.
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int N = inputShape.x, C = inputShape.y, H = inputShape.z, W = inputShape.w;
    int O = outputShape.y, OH = outputShape.z, OW = outputShape.w;
    int columnBlocks = (W + BLOCK_COLUMNS - 1) / BLOCK_COLUMNS;
    int index = flatIndex();
    if (index >= N * H * columnBlocks) return;
    int n = index % N, block = index / N;
    int ix0 = (block % columnBlocks) * BLOCK_COLUMNS;
    int iy = block / columnBlocks;
    int c0 = groupRow() * BLOCK_CHANNELS;
    int groupChannels = C / GROUPS, groupOutputs = O / GROUPS;
    int group = c0 / groupChannels;                            // this block's group

    int weightBase[BLOCK_CHANNELS];
    float acc[BLOCK_CHANNELS][BLOCK_COLUMNS];
    for (int k = 0; k < BLOCK_CHANNELS; k++)
    {
        weightBase[k] = (min(c0 + k, C - 1) - group * groupChannels) * KH * KW;
        for (int m = 0; m < BLOCK_COLUMNS; m++) acc[k][m] = 0.0;
    }
#if SW == 1
    // Stride 1 (the common case): the dy columns that meet this block of input columns are one contiguous
    // segment, loaded once per (o, p); input column m meets tap q at segment[m + (KW − 1 − q)·DW].
    const int gradSegment = BLOCK_COLUMNS + (KW - 1) * DW;
    int firstGradColumn = ix0 + PL - (KW - 1) * DW;
#else
    // Other strides: which output column each (input column, tap) pair came from (-1: none), the same for every o and p.
    int column[BLOCK_COLUMNS * KW];
    for (int m = 0; m < BLOCK_COLUMNS; m++)
        for (int q = 0; q < KW; q++) column[m * KW + q] = OUTPUT_COLUMN_FOR(ix0 + m, q);
#endif
#if SH == 1
    // Row stride 1: tap row p meets output row i = iy + PT − p·DH, and the p whose i lies in [0, OH) are one range, so
    // the tap loop visits only those (tap rows that met the padding cost nothing)
    int past = iy + PT - OH;                                   // p must exceed past / DH
    int pFirst = past >= 0 ? past / DH + 1 : 0, pEnd = min(KH, (iy + PT) / DH + 1);
#endif
    for (int o = group * groupOutputs; o < (group + 1) * groupOutputs; o++)
    {
#if SH == 1
        for (int p = pFirst; p < pEnd; p++)
        {
            int i = iy + PT - p * DH;
#else
        for (int p = 0; p < KH; p++)
        {
            int i = OUTPUT_ROW_FOR(iy, p);
            if (i < 0) continue;
#endif
            int gradRow = ((n * O + o) * OH + i) * OW;
            int tapRow = o * groupChannels * KH * KW + p * KW;
#if SW == 1
            float segment[gradSegment];
            for (int s = 0; s < gradSegment; s++)
            {
                int j = firstGradColumn + s;
                float v = dy[gradRow + clamp(j, 0, OW - 1)];
                segment[s] = (j >= 0 && j < OW) ? v : 0.0;
            }
#endif
            for (int q = 0; q < KW; q++)
            {
                float g[BLOCK_COLUMNS];
                for (int m = 0; m < BLOCK_COLUMNS; m++)
                {
#if SW == 1
                    g[m] = segment[m + (KW - 1 - q) * DW];
#else
                    int j = column[m * KW + q];
                    float v = dy[gradRow + max(j, 0)];
                    g[m] = j >= 0 ? v : 0.0;
#endif
                }
                for (int k = 0; k < BLOCK_CHANNELS; k++)
                {
                    float wk = w[tapRow + weightBase[k] + q];
                    for (int m = 0; m < BLOCK_COLUMNS; m++) acc[k][m] = fma(wk, g[m], acc[k][m]);
                }
            }
        }
    }
    for (int k = 0; k < BLOCK_CHANNELS && c0 + k < C; k++)
        for (int m = 0; m < BLOCK_COLUMNS && ix0 + m < W; m++)
        {
            int at = ((n * C + c0 + k) * H + iy) * W + ix0 + m;
#if defined(TRANSPOSED)
            dx[at] = acc[k][m] + (hasBias != 0 ? b[c0 + k] : 0.0);
#else
            dx[at] = (accumulate != 0 ? dx[at] : 0.0) + acc[k][m];
#endif
        }
}

#elif defined(WEIGHT_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) writeonly buffer PartialBuffer { float partial[]; };
uniform int rowsPerSlice; // output rows (n, i) summed by one slice

// dw[o,c,p,q] = Σ_{n,i,j} dy[n,o,i,j]·x[n,c, i·SH − PT + p·DH, j·SW − PL + q·DW] (c within o's group). The sum over N·OH·OW
// is split into slices of rowsPerSlice output rows (split-K), so a small kernel still gets many
// invocations; this pass writes partial[slice, o, c, p, q] and reduce.comp adds the slices into dw.
// One invocation: one slice and one kernel row (c, p), all KW taps of it, output channels
// o0 … o0+BLOCK_CHANNELS−1 (the work group's y). It walks each output row BLOCK_COLUMNS columns at a time,
// loading the input segment those columns touch once (as the forward pass does), so each dy value meets
// KW inputs and each input up to BLOCK_CHANNELS·BLOCK_COLUMNS gradients.
#define SEGMENT ((BLOCK_COLUMNS - 1) * SW + (KW - 1) * DW + 1)
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int C = inputShape.y, H = inputShape.z, W = inputShape.w;
    int O = outputShape.y, OH = outputShape.z, OW = outputShape.w;
    int groupChannels = C / GROUPS;
    int kernelRows = groupChannels * KH;                       // rows (c, p) of one output channel's kernel
    int index = flatIndex();
    int rows = outputShape.x * OH;
    int slice = index / kernelRows;
    if (slice * rowsPerSlice >= rows) return;
    int kernelRow = index % kernelRows;
    int p = kernelRow % KH;
    int o0 = groupRow() * BLOCK_CHANNELS;
    int c = (o0 / (O / GROUPS)) * groupChannels + kernelRow / KH; // the input channel, in this block's group

    int channel[BLOCK_CHANNELS];
    float acc[BLOCK_CHANNELS][KW];
    for (int k = 0; k < BLOCK_CHANNELS; k++)
    {
        channel[k] = min(o0 + k, O - 1);
        for (int q = 0; q < KW; q++) acc[k][q] = 0.0;
    }
    int rowEnd = min(slice * rowsPerSlice + rowsPerSlice, rows);
    for (int row = slice * rowsPerSlice; row < rowEnd; row++)
    {
        int i = row % OH, n = row / OH;
        int iy = i * SH - PT + p * DH;
        if (iy < 0 || iy >= H) continue;
        int inputRow = ((n * C + c) * H + iy) * W;
        int gradRow[BLOCK_CHANNELS];
        for (int k = 0; k < BLOCK_CHANNELS; k++) gradRow[k] = ((n * O + channel[k]) * OH + i) * OW;
        for (int j0 = 0; j0 < OW; j0 += BLOCK_COLUMNS)
        {
            float segment[SEGMENT];
            for (int s = 0; s < SEGMENT; s++)
            {
                int ix = j0 * SW - PL + s;
                float v = x[inputRow + clamp(ix, 0, W - 1)];
                segment[s] = (ix >= 0 && ix < W) ? v : 0.0;
            }
            for (int m = 0; m < BLOCK_COLUMNS; m++)
            {
                // Columns past OW (last block) read column OW−1 and count as zero.
                bool inside = j0 + m < OW;
                for (int k = 0; k < BLOCK_CHANNELS; k++)
                {
                    float g = dy[gradRow[k] + min(j0 + m, OW - 1)];
                    g = inside ? g : 0.0;
                    for (int q = 0; q < KW; q++) acc[k][q] = fma(g, segment[m * SW + q * DW], acc[k][q]);
                }
            }
        }
    }
    int taps = kernelRows * KW;
    for (int k = 0; k < BLOCK_CHANNELS && o0 + k < O; k++)
        for (int q = 0; q < KW; q++)
            partial[(slice * O + o0 + k) * taps + kernelRow * KW + q] = acc[k][q];
}

#elif defined(BIAS_GRAD)
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) writeonly buffer PartialBuffer { float partial[]; };

// db[o] = Σ_{n,i,j} dy[n,o,i,j]: this pass writes partial[n, o] = Σ_{i,j} dy[n,o,i,j] (one invocation per
// (n, o)); reduce.comp adds the N partials into db.
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y) return;
    int plane = outputShape.z * outputShape.w;
    float sum = 0.0;
    for (int t = 0; t < plane; t++) sum += dy[index * plane + t];
    partial[index] = sum;
}
#endif
