#version 430
// softmax_cross_entropy.comp: softmax and cross-entropy fused, numerically stable.
//   logits z and target t (N,K), probabilities p (N,K)
//   p[n,k] = e^(z − max z) / Σ_k e^(z − max z)
//   loss = −(1/N) Σ_n Σ_k t[n,k]·log p[n,k],  log p = z − max − log Σ e^(z − max)
// Variants: FORWARD (one invocation per row; reduce.comp then sums the row losses in order into the loss)
// and BACKWARD (element-wise on vec4s, dz += scale·(p − t)/N).
#include "common.glsl"

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer LogitsBuffer { float z[]; };
layout(std430, binding = INPUT1) readonly buffer TargetBuffer { float t[]; };
layout(std430, binding = OUTPUT0) writeonly buffer ProbabilitiesBuffer { float p[]; };
layout(std430, binding = OUTPUT1) writeonly buffer RowLossBuffer { float rowLoss[]; };
uniform int rows;
uniform int classes;

void main()
{
    int n = flatIndex();
    if (n >= rows) return;
    int base = n * classes;
    float largest = z[base];
    for (int k = 1; k < classes; k++) largest = max(largest, z[base + k]);
    float sum = 0.0;
    for (int k = 0; k < classes; k++) sum += exp(z[base + k] - largest);
    float logSum = log(sum);
    float loss = 0.0;
    for (int k = 0; k < classes; k++)
    {
        float shifted = z[base + k] - largest;
        p[base + k] = exp(shifted) / sum;
        loss -= t[base + k] * (shifted - logSum);
    }
    rowLoss[n] = loss / float(rows);
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer ProbabilitiesBuffer { vec4 p[]; };
layout(std430, binding = INPUT1) readonly buffer TargetBuffer { vec4 t[]; };
layout(std430, binding = OUTPUT0) buffer LogitsGradBuffer { vec4 dz[]; };
uniform int count;    // vec4s (GL tensors are allocated in whole vec4s)
uniform float factor; // scale / N

// In the forward pass this was loss = −(1/N) Σ t·log softmax(z): dz += scale·(p − t)/N.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    dz[i] += factor * (p[i] - t[i]);
}
#endif
