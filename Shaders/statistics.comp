#version 430
// statistics.comp: the training monitor's statistics (IBackend.Summarize, CountDeadChannels, ClassifyRows; word layout
// in Runtime/Backends/IBackend.Statistics.cs, StatisticsLayout). Variants:
//   RANGE         invocation s of `slices` reads x[s], x[s + slices], … (neighbouring invocations read neighbouring
//                 values) and writes its partial summary to partial[10·s …]: min, max, zeros, NaN, ±∞, saturated (words
//                 0–5), Σx and Σx² as doubles (words 6–9): the first ten words of the statistics layout.
//   RANGE_FINAL   one invocation folds the partials, in slice order, into stats[offset …] (the same ten words).
//   SPREAD        (BINS) invocation s reads its values again, now with the range and the mean from stats[offset …], and
//                 writes Σ(x − μ)² (a double) and its BINS histogram counts to partial[(2 + BINS)·s …].
//   SPREAD_FINAL  (BINS) invocation j sums column j of the spread partials in slice order: j = 0 the squared deviations
//                 (stats words 10–11), j ≥ 1 histogram bin j − 1 (word 12 + j − 1).
//   DEAD          invocation p = n·C + c writes 1 to partial[p] when plane (n,c) of x holds any value but ±0, else 0.
//   DEAD_FINAL    one invocation counts the channels alive in no sample into stats[offset].
//   CLASSIFY      invocation n writes row n of the results: predicted class, true class, confidence, cross-entropy.
// Finite, NaN and zero are judged on the bits, which fast-math cannot fold away; sums are doubles, folded in a fixed
// order, so the results do not depend on scheduling and match the CPU backend's to a float's last bit.
#include "common.glsl"

const uint exponentBits = 0x7F800000u;
const uint mantissaBits = 0x007FFFFFu;
const float positiveInfinity = uintBitsToFloat(0x7F800000u);

// Words of the statistics layout (StatisticsLayout).
const int MINIMUM = 0, MAXIMUM = 1, ZEROS = 2, NANS = 3, INFINITIES = 4, SATURATED = 5, SUM = 6, SUM_OF_SQUARES = 8,
          SQUARED_DEVIATIONS = 10, HISTOGRAM = 12;
const int RANGE_WORDS = 10;

#if defined(RANGE)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT1) writeonly buffer PartialBuffer { uint partial[]; };
uniform int elementCount;
uniform int slices;
uniform int saturateLow;  // 1: count x ≤ low
uniform int saturateHigh; // 1: count x ≥ high
uniform float low;
uniform float high;

void main()
{
    int s = flatIndex();
    if (s >= slices) return;
    float minimum = positiveInfinity, maximum = -positiveInfinity;
    uint zeros = 0u, nans = 0u, infinities = 0u, saturated = 0u;
    double sum = 0.0LF, squares = 0.0LF;
    for (int i = s; i < elementCount; i += slices)
    {
        float value = x[i];
        uint bits = floatBitsToUint(value);
        if ((bits & exponentBits) == exponentBits)
        {
            if ((bits & mantissaBits) != 0u) nans++; else infinities++;
            continue;
        }
        minimum = min(minimum, value);
        maximum = max(maximum, value);
        if ((bits & 0x7FFFFFFFu) == 0u) zeros++;
        if ((saturateLow != 0 && value <= low) || (saturateHigh != 0 && value >= high)) saturated++;
        double d = double(value);
        sum += d;
        squares += d * d;
    }
    int p = RANGE_WORDS * s;
    partial[p + MINIMUM] = floatBitsToUint(minimum);
    partial[p + MAXIMUM] = floatBitsToUint(maximum);
    partial[p + ZEROS] = zeros;
    partial[p + NANS] = nans;
    partial[p + INFINITIES] = infinities;
    partial[p + SATURATED] = saturated;
    uvec2 halves = unpackDouble2x32(sum);
    partial[p + SUM] = halves.x;
    partial[p + SUM + 1] = halves.y;
    halves = unpackDouble2x32(squares);
    partial[p + SUM_OF_SQUARES] = halves.x;
    partial[p + SUM_OF_SQUARES + 1] = halves.y;
}

#elif defined(RANGE_FINAL)
layout(std430, binding = INPUT0) readonly buffer PartialBuffer { uint partial[]; };
layout(std430, binding = OUTPUT0) buffer StatisticsBuffer { uint stats[]; };
uniform int slices;
uniform int offset;

void main()
{
    if (flatIndex() != 0) return;
    float minimum = positiveInfinity, maximum = -positiveInfinity;
    uvec4 counts = uvec4(0u);
    double sum = 0.0LF, squares = 0.0LF;
    for (int s = 0; s < slices; s++)
    {
        int p = RANGE_WORDS * s;
        minimum = min(minimum, uintBitsToFloat(partial[p + MINIMUM]));
        maximum = max(maximum, uintBitsToFloat(partial[p + MAXIMUM]));
        counts += uvec4(partial[p + ZEROS], partial[p + NANS], partial[p + INFINITIES], partial[p + SATURATED]);
        sum += packDouble2x32(uvec2(partial[p + SUM], partial[p + SUM + 1]));
        squares += packDouble2x32(uvec2(partial[p + SUM_OF_SQUARES], partial[p + SUM_OF_SQUARES + 1]));
    }
    stats[offset + MINIMUM] = floatBitsToUint(minimum);
    stats[offset + MAXIMUM] = floatBitsToUint(maximum);
    stats[offset + ZEROS] = counts.x;
    stats[offset + NANS] = counts.y;
    stats[offset + INFINITIES] = counts.z;
    stats[offset + SATURATED] = counts.w;
    uvec2 halves = unpackDouble2x32(sum);
    stats[offset + SUM] = halves.x;
    stats[offset + SUM + 1] = halves.y;
    halves = unpackDouble2x32(squares);
    stats[offset + SUM_OF_SQUARES] = halves.x;
    stats[offset + SUM_OF_SQUARES + 1] = halves.y;
}

#elif defined(SPREAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer StatisticsBuffer { uint stats[]; };
layout(std430, binding = OUTPUT1) writeonly buffer PartialBuffer { uint partial[]; };
uniform int elementCount;
uniform int slices;
uniform int offset;

// StatisticsLayout.Bin: torch.histc's rule in float arithmetic, the maximum in the last bin.
int binOf(float value, float low, float high)
{
    float width = high - low;
    if (!(width > 0.0)) return BINS / 2;
    float position = width < 1e36
        ? (value - low) * float(BINS) / width
        : (0.5 * value - 0.5 * low) / (0.5 * high - 0.5 * low) * float(BINS);
    return min(int(position), BINS - 1);
}

void main()
{
    int s = flatIndex();
    if (s >= slices) return;
    uint counts[BINS];
    for (int b = 0; b < BINS; b++) counts[b] = 0u;
    double deviations = 0.0LF;
    uint finite = uint(elementCount) - stats[offset + NANS] - stats[offset + INFINITIES];
    if (finite > 0u)
    {
        double mean = packDouble2x32(uvec2(stats[offset + SUM], stats[offset + SUM + 1])) / double(finite);
        float low = uintBitsToFloat(stats[offset + MINIMUM]), high = uintBitsToFloat(stats[offset + MAXIMUM]);
        if (low == high) { low -= 1.0; high += 1.0; }
        for (int i = s; i < elementCount; i += slices)
        {
            float value = x[i];
            if ((floatBitsToUint(value) & exponentBits) == exponentBits) continue;
            double d = double(value) - mean;
            deviations += d * d;
            counts[binOf(value, low, high)]++;
        }
    }
    int p = (2 + BINS) * s;
    uvec2 halves = unpackDouble2x32(deviations);
    partial[p] = halves.x;
    partial[p + 1] = halves.y;
    for (int b = 0; b < BINS; b++) partial[p + 2 + b] = counts[b];
}

#elif defined(SPREAD_FINAL)
layout(std430, binding = INPUT0) readonly buffer PartialBuffer { uint partial[]; };
layout(std430, binding = OUTPUT0) buffer StatisticsBuffer { uint stats[]; };
uniform int slices;
uniform int offset;

void main()
{
    int j = flatIndex();
    if (j > BINS) return;
    if (j == 0)
    {
        double deviations = 0.0LF;
        for (int s = 0; s < slices; s++)
            deviations += packDouble2x32(uvec2(partial[(2 + BINS) * s], partial[(2 + BINS) * s + 1]));
        uvec2 halves = unpackDouble2x32(deviations);
        stats[offset + SQUARED_DEVIATIONS] = halves.x;
        stats[offset + SQUARED_DEVIATIONS + 1] = halves.y;
        return;
    }
    uint count = 0u;
    for (int s = 0; s < slices; s++) count += partial[(2 + BINS) * s + 1 + j];
    stats[offset + HISTOGRAM + j - 1] = count;
}

#elif defined(DEAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { uint x[]; };
layout(std430, binding = OUTPUT1) writeonly buffer PartialBuffer { uint partial[]; };
uniform int planes;      // N·C
uniform int planeLength; // H·W

void main()
{
    int p = flatIndex();
    if (p >= planes) return;
    uint alive = 0u;
    for (int i = 0; i < planeLength && alive == 0u; i++)
        if ((x[p * planeLength + i] & 0x7FFFFFFFu) != 0u) alive = 1u;
    partial[p] = alive;
}

#elif defined(DEAD_FINAL)
layout(std430, binding = INPUT0) readonly buffer PartialBuffer { uint partial[]; };
layout(std430, binding = OUTPUT0) buffer StatisticsBuffer { uint stats[]; };
uniform int batch;
uniform int channels;
uniform int offset;

void main()
{
    if (flatIndex() != 0) return;
    uint dead = 0u;
    for (int c = 0; c < channels; c++)
    {
        uint alive = 0u;
        for (int n = 0; n < batch; n++) alive |= partial[n * channels + c];
        if (alive == 0u) dead++;
    }
    stats[offset] = dead;
}

#elif defined(CLASSIFY)
layout(std430, binding = INPUT0) readonly buffer LogitsBuffer { float z[]; };
layout(std430, binding = INPUT1) readonly buffer TargetBuffer { float t[]; };
layout(std430, binding = OUTPUT0) writeonly buffer ResultBuffer { float results[]; };
uniform int rows;
uniform int classes;

void main()
{
    int n = flatIndex();
    if (n >= rows) return;
    int first = n * classes, predicted = 0, label = 0;
    for (int k = 1; k < classes; k++)
    {
        if (z[first + k] > z[first + predicted]) predicted = k;
        if (t[first + k] > t[first + label]) label = k;
    }
    float maximum = z[first + predicted], sumOfExponentials = 0.0;
    for (int k = 0; k < classes; k++) sumOfExponentials += exp(z[first + k] - maximum);
    float logSum = log(sumOfExponentials), loss = 0.0;
    for (int k = 0; k < classes; k++) loss += t[first + k] * (logSum - (z[first + k] - maximum));
    results[4 * n + 0] = float(predicted);
    results[4 * n + 1] = float(label);
    results[4 * n + 2] = 1.0 / sumOfExponentials;
    results[4 * n + 3] = loss;
}
#endif
