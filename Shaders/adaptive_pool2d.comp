#version 430
// adaptive_pool2d.comp: PyTorch's AdaptiveAvgPool2d, forward and backward side by side.
//   x (N,C,H,W), y (N,C,OH,OW); output (i,j) averages rows [⌊iH/OH⌋, ⌈(i+1)H/OH⌉) × columns [⌊jW/OW⌋, ⌈(j+1)W/OW⌉).
// Variants: FORWARD (one invocation per output element), BACKWARD (one invocation per input element, gathering
// dy/|window| over the windows that contain it, so each dx element has one writer and no atomics are needed).
#include "common.glsl"

uniform ivec4 inputShape;   // N, C, H, W
uniform ivec4 outputShape;  // N, C, OH, OW

int windowStart(int index, int inputSize, int outputSize) { return (index * inputSize) / outputSize; }
int windowEnd(int index, int inputSize, int outputSize) { return ((index + 1) * inputSize + outputSize - 1) / outputSize; }

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= outputShape.x * outputShape.y * OH * OW) return;
    int j = index % OW, i = (index / OW) % OH, plane = index / (OW * OH);
    int h0 = windowStart(i, H, OH), h1 = windowEnd(i, H, OH), w0 = windowStart(j, W, OW), w1 = windowEnd(j, W, OW);
    float sum = 0.0;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++)
            sum += x[(plane * H + h) * W + w];
    y[index] = sum / float((h1 - h0) * (w1 - w0));
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y[i,j] = mean of window (i,j): dx[h,w] += Σ dy[i,j]/|window(i,j)| over the windows
// holding (h,w). Those are the rows i with ⌊iH/OH⌋ ≤ h < ⌈(i+1)H/OH⌉, all within one of [⌊h·OH/H⌋, ⌈(h+1)·OH/H⌉);
// the loop tests each candidate exactly rather than trusting the inverse bounds.
void main()
{
    int H = inputShape.z, W = inputShape.w, OH = outputShape.z, OW = outputShape.w;
    int index = flatIndex();
    if (index >= inputShape.x * inputShape.y * H * W) return;
    int w = index % W, h = (index / W) % H, plane = index / (W * H);
    int iFirst = max(0, (h * OH) / H - 1), iLast = min(OH, ((h + 1) * OH + H - 1) / H + 1);
    int jFirst = max(0, (w * OW) / W - 1), jLast = min(OW, ((w + 1) * OW + W - 1) / W + 1);
    float sum = 0.0;
    for (int i = iFirst; i < iLast; i++)
    {
        int h0 = windowStart(i, H, OH), h1 = windowEnd(i, H, OH);
        if (h < h0 || h >= h1) continue;
        for (int j = jFirst; j < jLast; j++)
        {
            int w0 = windowStart(j, W, OW), w1 = windowEnd(j, W, OW);
            if (w < w0 || w >= w1) continue;
            sum += dy[(plane * OH + i) * OW + j] / float((h1 - h0) * (w1 - w0));
        }
    }
    dx[index] += sum;
}
#endif
