#version 430
// local_response_norm.comp: local response normalization across channels (AlexNet; PyTorch's
// LocalResponseNorm), forward and backward side by side. x, y, s are (N,C,Inner), Inner = H·W.
//   s[n,c,p] = k + (α/size)·Σ_{c′=c−before}^{c+after} x[n,c′,p]²,  before = ⌊size/2⌋, after = ⌊(size−1)/2⌋
//   (channels outside [0,C) are PyTorch's zero padding),   y = x·s^−β
//   backward: dx[j] += dy[j]·s[j]^−β − (2αβ/size)·x[j]·Σ_{c=j−after}^{j+before} dy[c]·y[c]/s[c]
// Variants: FORWARD and BACKWARD, one invocation per element; backward gathers over the windows that
// hold channel j, so each dx element has one writer.
#include "common.glsl"

uniform int total;    // N·C·Inner
uniform int channels; // C
uniform int inner;    // H·W
uniform int before;   // ⌊size/2⌋
uniform int after;    // ⌊(size−1)/2⌋
uniform float alphaOverSize;
uniform float beta;

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };
layout(std430, binding = OUTPUT1) writeonly buffer ScaleBuffer { float s[]; };
uniform float k;

void main()
{
    int i = flatIndex();
    if (i >= total) return;
    int c = (i / inner) % channels;
    int first = max(c - before, 0), last = min(c + after, channels - 1);
    int offset = i - c * inner; // element (n, 0, p)
    float sum = 0.0;
    for (int cc = first; cc <= last; cc++)
    {
        float v = x[offset + cc * inner];
        sum += v * v;
    }
    float scale = k + alphaOverSize * sum;
    s[i] = scale;
    y[i] = x[i] * pow(scale, -beta);
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = INPUT2) readonly buffer ScaleBuffer { float s[]; };
layout(std430, binding = INPUT3) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y[c] = x[c]·s[c]^−β: ∂y[c]/∂x[j] = δ_cj·s[c]^−β − (2αβ/size)·x[j]·y[c]/s[c]
// for every c whose window holds j, i.e. c ∈ [j − after, j + before].
void main()
{
    int i = flatIndex();
    if (i >= total) return;
    int j = (i / inner) % channels;
    int first = max(j - after, 0), last = min(j + before, channels - 1);
    int offset = i - j * inner;
    float sum = 0.0;
    for (int c = first; c <= last; c++)
    {
        int at = offset + c * inner;
        sum += dy[at] * y[at] / s[at];
    }
    dx[i] += dy[i] * pow(s[i], -beta) - 2.0 * alphaOverSize * beta * x[i] * sum;
}
#endif
