#version 430
// rownorm.comp: row normalization (layer, group and instance norm), forward and backward side by side. The input is
// R rows of L contiguous values; row r is x[r*L … r*L + L-1]. The affine index of element i is
// k = (i / affineStride) % affineCount (LayerNorm: stride 1, K = D; GroupNorm: stride H*W, K = C).
// Variants:
//   STATS        per row: mean and 1/sqrt(biased variance + eps) (two passes over the row: no cancellation)
//   NORMALIZE    y = (x - mean)*invStd*gamma[k] + beta[k], four elements per invocation
//   ROW_GRAD     per row: scratch[4r…4r+3] = (mean, invStd, a = sum(g)/L, b = sum(g*xhat)/L) with g = dy*gamma[k]
//   INPUT_GRAD   dx += invStd*(g - a - xhat*b), four elements per invocation
//   AFFINE_GRAD  per affine index k: dgamma[k] += sum dy*xhat, dbeta[k] += sum dy over the elements that use k
// One invocation per row or per k, no shared memory (the llvmpipe rule); every output element has one writer.
#include "common.glsl"

uniform int rows;          // R
uniform int rowLength;     // L
uniform int affineStride;
uniform int affineCount;   // K, 0 without an affine map
uniform int hasWeight;
uniform int hasBias;

int affineIndex(int i) { return (i / affineStride) % max(affineCount, 1); }

#if defined(STATS)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = OUTPUT1) writeonly buffer SaveInvStdBuffer { float saveInvStd[]; };
uniform float epsilon;

void main()
{
    int r = flatIndex();
    if (r >= rows) return;
    int start = r * rowLength;
    float sum = 0.0;
    for (int j = 0; j < rowLength; j++) sum += x[start + j];
    float mean = sum / float(rowLength), squares = 0.0;
    for (int j = 0; j < rowLength; j++)
    {
        float d = x[start + j] - mean;
        squares += d * d;
    }
    saveMean[r] = mean;
    saveInvStd[r] = 1.0 / sqrt(squares / float(rowLength) + epsilon);
}

#elif defined(NORMALIZE)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = INPUT2) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = INPUT3) readonly buffer WeightBuffer { float gamma[]; };
layout(std430, binding = INPUT4) readonly buffer BiasBuffer { float beta[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };
uniform int count; // vec4s

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 v = x[i], result;
    for (int lane = 0; lane < 4; lane++)
    {
        int e = 4 * i + lane, r = min(e / rowLength, rows - 1), k = affineIndex(e);
        float value = (v[lane] - saveMean[r]) * saveInvStd[r];
        if (hasWeight != 0) value *= gamma[k];
        if (hasBias != 0) value += beta[k];
        result[lane] = value;
    }
    y[i] = result;
}

#elif defined(ROW_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = INPUT2) readonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = INPUT3) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = INPUT4) readonly buffer WeightBuffer { float gamma[]; };
layout(std430, binding = OUTPUT0) writeonly buffer ScratchBuffer { float scratch[]; }; // [R][4]

void main()
{
    int r = flatIndex();
    if (r >= rows) return;
    int start = r * rowLength;
    float mean = saveMean[r], invStd = saveInvStd[r], sumG = 0.0, sumGXHat = 0.0;
    for (int i = start; i < start + rowLength; i++)
    {
        float g = hasWeight != 0 ? dy[i] * gamma[affineIndex(i)] : dy[i];
        sumG += g;
        sumGXHat += g * ((x[i] - mean) * invStd);
    }
    scratch[4 * r] = mean;
    scratch[4 * r + 1] = invStd;
    scratch[4 * r + 2] = sumG / float(rowLength);
    scratch[4 * r + 3] = sumGXHat / float(rowLength);
}

#elif defined(INPUT_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { vec4 dy[]; };
layout(std430, binding = INPUT2) readonly buffer WeightBuffer { float gamma[]; };
layout(std430, binding = INPUT3) readonly buffer ScratchBuffer { float scratch[]; }; // ROW_GRAD's [R][4]
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { vec4 dx[]; };
uniform int count; // vec4s

// In the forward pass this was y = gamma[k]*xhat + beta[k]: dx += invStd*(g - a - xhat*b).
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 v = x[i], d = dy[i], result;
    for (int lane = 0; lane < 4; lane++)
    {
        int e = 4 * i + lane, r = min(e / rowLength, rows - 1);
        float invStd = scratch[4 * r + 1], xHat = (v[lane] - scratch[4 * r]) * invStd;
        float g = hasWeight != 0 ? d[lane] * gamma[affineIndex(e)] : d[lane];
        result[lane] = invStd * (g - scratch[4 * r + 2] - xHat * scratch[4 * r + 3]);
    }
    dx[i] += result;
}

#elif defined(AFFINE_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = INPUT2) readonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = INPUT3) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = OUTPUT0) buffer WeightGradBuffer { float dGamma[]; };
layout(std430, binding = OUTPUT1) buffer BiasGradBuffer { float dBeta[]; };
uniform int blocks; // R*L / (K*affineStride)
uniform int hasWeightGrad;
uniform int hasBiasGrad;

void main()
{
    int k = flatIndex();
    if (k >= affineCount) return;
    float sumDy = 0.0, sumDyXHat = 0.0;
    for (int o = 0; o < blocks; o++)
    {
        int first = (o * affineCount + k) * affineStride;
        for (int i = first; i < first + affineStride; i++)
        {
            int r = i / rowLength;
            sumDy += dy[i];
            sumDyXHat += dy[i] * ((x[i] - saveMean[r]) * saveInvStd[r]);
        }
    }
    if (hasWeightGrad != 0) dGamma[k] += sumDyXHat;
    if (hasBiasGrad != 0) dBeta[k] += sumDy;
}
#endif
