#version 430
// upsample.comp: PyTorch's bilinear upsample_bilinear2d (align_corners=False), forward and backward side by side.
//   x (N,C,H,W), y (N,C,OH,OW); output row i reads input rows ⌊s⌋ and min(⌊s⌋ + 1, H − 1) with weights 1 − λ and λ,
//   s = max(0, r·(i + ½) − ½), λ = s − ⌊s⌋, r = ratioHeight; columns likewise with ratioWidth.
// Variants: FORWARD (one invocation per output element), BACKWARD (one invocation per input element, gathering the
// weighted dy of every output that read it, so each dx element has one writer and no atomics are needed).
#include "common.glsl"

uniform ivec4 inputShape;   // N, C, H, W
uniform ivec4 outputShape;  // N, C, OH, OW
uniform float ratioHeight;  // r_h: input rows per output row
uniform float ratioWidth;   // r_w: input columns per output column

// The two neighbours of output index i along an axis of `size` inputs and the weight λ of the second.
void source(int i, float ratio, int size, out int first, out int second, out float lambda)
{
    // as PyTorch's CPU kernel: s in double from the float ratio (the product is exact), λ rounded once to float
    double s = max(double(ratio) * (double(i) + 0.5LF) - 0.5LF, 0.0LF);
    first = min(int(s), size - 1);
    second = first < size - 1 ? first + 1 : first;
    lambda = float(clamp(s - double(first), 0.0LF, 1.0LF));
}

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y * OH * OW) return;
    int j = index % OW, i = (index / OW) % OH, plane = index / (OW * OH);
    int h0, h1, w0, w1;
    float lh, lw;
    source(i, ratioHeight, H, h0, h1, lh);
    source(j, ratioWidth, W, w0, w1, lw);
    int base = plane * H * W;
    float top = (1.0 - lw) * x[base + h0 * W + w0] + lw * x[base + h0 * W + w1];
    float bottom = (1.0 - lw) * x[base + h1 * W + w0] + lw * x[base + h1 * W + w1];
    y[index] = (1.0 - lh) * top + lh * bottom;
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// The weight output index i gives input index k along one axis: (1 − λ) if k is its first neighbour, plus λ if k is
// its second (both at the last input, where the two coincide).
float weightOf(int i, int k, float ratio, int size)
{
    int first, second;
    float lambda;
    source(i, ratio, size, first, second, lambda);
    return (first == k ? 1.0 - lambda : 0.0) + (second == k ? lambda : 0.0);
}

// Outputs that can read input k: s(i) ∈ [k − 1, k + 1), i.e. i ∈ [(k − ½)/r − ½, (k + 1½)/r − ½); the bounds are
// widened by one on each side and every candidate is tested exactly.
ivec2 candidates(int k, float ratio, int outputSize)
{
    int first = int(floor((float(k) - 0.5) / ratio - 0.5)) - 1;
    int last = int(ceil((float(k) + 1.5) / ratio - 0.5)) + 2;
    return ivec2(max(first, 0), min(last, outputSize));
}

// In the forward pass this was y[i,j] = Σ wₕ(i)·w_w(j)·x[h,w] over four neighbours: dx[h,w] += Σ wₕ(i)·w_w(j)·dy[i,j].
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= inputShape.x * inputShape.y * H * W) return;
    int w = index % W, h = (index / W) % H, plane = index / (W * H);
    ivec2 rows = candidates(h, ratioHeight, OH), columns = candidates(w, ratioWidth, OW);
    float sum = 0.0;
    for (int i = rows.x; i < rows.y; i++)
    {
        float wh = weightOf(i, h, ratioHeight, H);
        if (wh == 0.0) continue;
        float rowSum = 0.0;
        for (int j = columns.x; j < columns.y; j++)
            rowSum += weightOf(j, w, ratioWidth, W) * dy[(plane * OH + i) * OW + j];
        sum += wh * rowSum;
    }
    dx[index] += sum;
}
#endif
