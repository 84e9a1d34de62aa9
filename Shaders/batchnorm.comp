#version 430
// batchnorm.comp: batch normalization, forward and backward side by side. The input is read as (N,C,S),
// S = H*W (1 after a Linear); channel c's M = N*S values sit at ((n*C + c)*S + j). Per-channel sums over
// M values run in two passes without shared memory (on llvmpipe a shared-memory tree is slower): pass 1
// gives each invocation one contiguous chunk of one channel (partial[slice, c]), pass 2 combines the
// slices per channel (the scratch buffer holds the partials, as for the other split reductions).
// Variants:
//   STATS           partial[s,c] = (sum, squared deviations from the chunk's own mean) over chunk s
//   STATS_FINALIZE  per channel, with TRAINING: combine the chunks (Chan et al.'s parallel variance, no
//                   cancellation), save mean and 1/sqrt(var + eps), update the running statistics
//                   (unbiased variance); with EVAL: save the running statistics instead
//   NORMALIZE       y = (x - mean)*(invStd*gamma) + beta, four elements per invocation
//   GRAD_PARTIAL    partial[s,c] = (sum dy, sum dy*xhat) over chunk s
//   GRAD_FINALIZE   per channel: add the sums into dgamma/dbeta, write dx's coefficients (k, a, b)
//   INPUT_GRAD      dx += k*(dy - a - xhat*b), four elements per invocation
#include "common.glsl"

uniform ivec4 shape; // (N, C, S, M = N*S)
uniform int chunk;   // values of one channel per pass-1 invocation
uniform int slices;  // chunks per channel, ceil(M / chunk)

#define C shape.y
#define S shape.z
#define M shape.w

#if defined(STATS)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer PartialBuffer { float partial[]; }; // [slices][2][C]

void main()
{
    int i = flatIndex();
    if (i >= slices * C) return;
    int s = i / C, c = i - s * C;
    int first = s * chunk, last = min(first + chunk, M);
    int n = first / S, j0 = first - n * S, start = (n * C + c) * S + j0;

    // Walk the chunk: step through a plane, jump (C-1)*S to the next sample's plane of channel c.
    float sum = 0.0;
    for (int m = first, address = start, j = j0; m < last; m++)
    {
        sum += x[address];
        address++;
        if (++j == S) { j = 0; address += (C - 1) * S; }
    }
    float mean = sum / float(last - first), squares = 0.0;
    for (int m = first, address = start, j = j0; m < last; m++)
    {
        float d = x[address] - mean;
        squares += d * d;
        address++;
        if (++j == S) { j = 0; address += (C - 1) * S; }
    }
    partial[s * 2 * C + c] = sum;
    partial[s * 2 * C + C + c] = squares;
}

#elif defined(STATS_FINALIZE)
#if defined(TRAINING)
layout(std430, binding = OUTPUT2) buffer RunningMeanBuffer { float runningMean[]; };
layout(std430, binding = OUTPUT3) buffer RunningVarBuffer { float runningVar[]; };
#else
layout(std430, binding = INPUT1) readonly buffer RunningMeanBuffer { float runningMean[]; };
layout(std430, binding = INPUT2) readonly buffer RunningVarBuffer { float runningVar[]; };
#endif
layout(std430, binding = OUTPUT0) writeonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = OUTPUT1) writeonly buffer SaveInvStdBuffer { float saveInvStd[]; };
uniform float epsilon;
#if defined(TRAINING)
layout(std430, binding = INPUT0) readonly buffer PartialBuffer { float partial[]; };
uniform float momentum;
#endif

void main()
{
    int c = flatIndex();
    if (c >= C) return;
#if defined(TRAINING)
    float total = 0.0;
    for (int s = 0; s < slices; s++) total += partial[s * 2 * C + c];
    float mean = total / float(M);
    // M2 = sum over chunks of (chunk's squared deviations + n_s * (chunk mean - mean)^2)
    float squares = 0.0;
    for (int s = 0; s < slices; s++)
    {
        float n = float(min(chunk, M - s * chunk));
        float d = partial[s * 2 * C + c] / n - mean;
        squares += partial[s * 2 * C + C + c] + n * d * d;
    }
    saveMean[c] = mean;
    saveInvStd[c] = 1.0 / sqrt(squares / float(M) + epsilon);
    runningMean[c] = (1.0 - momentum) * runningMean[c] + momentum * mean;
    runningVar[c] = (1.0 - momentum) * runningVar[c] + momentum * (squares / float(M - 1));
#else
    saveMean[c] = runningMean[c];
    saveInvStd[c] = 1.0 / sqrt(runningVar[c] + epsilon);
#endif
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
        int c = ((4 * i + lane) / S) % C;
        result[lane] = (v[lane] - saveMean[c]) * (saveInvStd[c] * gamma[c]) + beta[c];
    }
    y[i] = result;
}

#elif defined(GRAD_PARTIAL)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = INPUT2) readonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = INPUT3) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = OUTPUT0) writeonly buffer PartialBuffer { float partial[]; }; // [slices][2][C]

void main()
{
    int i = flatIndex();
    if (i >= slices * C) return;
    int s = i / C, c = i - s * C;
    int first = s * chunk, last = min(first + chunk, M);
    int n = first / S, j = first - n * S, address = (n * C + c) * S + j;
    float mean = saveMean[c], invStd = saveInvStd[c], sumDy = 0.0, sumDyXHat = 0.0;
    for (int m = first; m < last; m++)
    {
        float g = dy[address];
        sumDy += g;
        sumDyXHat += g * ((x[address] - mean) * invStd);
        address++;
        if (++j == S) { j = 0; address += (C - 1) * S; }
    }
    partial[s * 2 * C + c] = sumDy;
    partial[s * 2 * C + C + c] = sumDyXHat;
}

#elif defined(GRAD_FINALIZE)
layout(std430, binding = INPUT0) readonly buffer WeightBuffer { float gamma[]; };
layout(std430, binding = INPUT1) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = OUTPUT0) buffer ScratchBuffer { float scratch[]; }; // partials, then 3*C coefficients
layout(std430, binding = OUTPUT1) buffer WeightGradBuffer { float dGamma[]; };
layout(std430, binding = OUTPUT2) buffer BiasGradBuffer { float dBeta[]; };
uniform int hasWeightGrad;
uniform int hasBiasGrad;
uniform int training;

void main()
{
    int c = flatIndex();
    if (c >= C) return;
    float sumDy = 0.0, sumDyXHat = 0.0;
    for (int s = 0; s < slices; s++)
    {
        sumDy += scratch[s * 2 * C + c];
        sumDyXHat += scratch[s * 2 * C + C + c];
    }
    if (hasBiasGrad != 0) dBeta[c] += sumDy;
    if (hasWeightGrad != 0) dGamma[c] += sumDyXHat;
    // dx's factors (CpuBackend.BatchNormInputGradCoefficients): k = gamma*invStd; in training the paths
    // through the batch mean and variance add a = sum dy / M and b = sum dy*xhat / M, in eval a = b = 0.
    int coefficients = slices * 2 * C;
    scratch[coefficients + c] = gamma[c] * saveInvStd[c];
    scratch[coefficients + C + c] = training != 0 ? sumDy / float(M) : 0.0;
    scratch[coefficients + 2 * C + c] = training != 0 ? sumDyXHat / float(M) : 0.0;
}

#elif defined(INPUT_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { vec4 dy[]; };
layout(std430, binding = INPUT2) readonly buffer SaveMeanBuffer { float saveMean[]; };
layout(std430, binding = INPUT3) readonly buffer SaveInvStdBuffer { float saveInvStd[]; };
layout(std430, binding = INPUT4) readonly buffer ScratchBuffer { float scratch[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { vec4 dx[]; };
uniform int count; // vec4s
uniform int accumulate; // 0: dx = 0 + …, set without reading dx (its first contributor in a step)

// In the forward pass this was y = gamma*xhat + beta: dx += k*(dy - a - xhat*b).
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    int coefficients = slices * 2 * C;
    vec4 v = x[i], g = dy[i], result;
    for (int lane = 0; lane < 4; lane++)
    {
        int c = ((4 * i + lane) / S) % C;
        float xHat = (v[lane] - saveMean[c]) * saveInvStd[c];
        result[lane] = scratch[coefficients + c] * (g[lane] - scratch[coefficients + C + c] - xHat * scratch[coefficients + 2 * C + c]);
    }
    dx[i] = (accumulate != 0 ? dx[i] : vec4(0.0)) + result;
}
#endif
