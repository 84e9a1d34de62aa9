#version 430
// replay.comp: sampling a training batch from the on-device replay buffer (Data/ReplayBuffer), forward only.
// GATHER_RANDOM_ROWS, work group row y = batch row b, each invocation copying a run of SPAN values of that row:
//   y[b,l] = x[r_b*L + l],  r_b = mulhi(bits_b, rowCount) in [0, rowCount),
//   bits_b = lane b%4 of philox4x32((b/4, low32(step), high32(step), 0), (seed, stream))
// the twin of CounterRandom.RowIndex, so the CPU and GL backends gather the same rows. The draw is made once per
// invocation (one Philox for SPAN values, not one per value).
#include "common.glsl"
#include "random.glsl"

#define SPAN 16
uniform int row;            // L, values per row
uniform int rowCount;       // rows to draw from (the buffer's fill)
uniform uvec4 key;          // (seed, stream, low32(step), high32(step))
layout(std430, binding = INPUT0) readonly buffer SourceBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer DestinationBuffer { float y[]; };

void main()
{
    int first = flatIndex() * SPAN;
    if (first >= row) return;
    int b = groupRow();
    uvec4 bits = philox4x32(uvec4(uint(b >> 2), key.z, key.w, 0u), key.xy);
    uint high, low;
    umulExtended(bits[b & 3], uint(rowCount), high, low);
    int from = int(high) * row, to = b * row;
    int last = min(first + SPAN, row);
    for (int l = first; l < last; l++) y[to + l] = x[from + l];
}
