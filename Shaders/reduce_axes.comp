#version 430
// reduce_axes.comp: sum, mean, max or min over any set of axes (ReduceOp), forward and backward side by side.
// The tensor has four axes (padded on the left). Output element o ranges over `kept` (the input's size on kept axes, 1 on
// reduced ones); it reduces the elements first(o) + offset(j) for j over `reduced` (the size on reduced axes, 1 on kept
// ones), in row-major order, the order the CPU backend sums in.
//   FORWARD:  y[o] = Σ_j x (SUM), Σ_j x / count (MEAN), max_j x (MAX), min_j x (MIN); NaN wins max and min
//   BACKWARD: dx[first(o) + offset(j)] += dy[o] (SUM), dy[o] / count (MEAN), and for MAX and MIN dy[o] / ties where
//             x = y[o] (ties: how many elements equal y[o], as PyTorch's amax/amin share the gradient)
// One invocation per output element; the sets of different outputs are disjoint, so every dx element has one writer.
#include "common.glsl"

uniform ivec4 kept;
uniform ivec4 reduced;
uniform ivec4 strides;
uniform int outputs;
uniform int count;

int first(int o)
{
    ivec4 i = ivec4(o / (kept.w * kept.z * kept.y), o / (kept.w * kept.z) % kept.y, o / kept.w % kept.z, o % kept.w);
    return i.x * strides.x + i.y * strides.y + i.z * strides.z + i.w * strides.w;
}

int offset(int j)
{
    ivec4 i = ivec4(j / (reduced.w * reduced.z * reduced.y), j / (reduced.w * reduced.z) % reduced.y, j / reduced.w % reduced.z, j % reduced.w);
    return i.x * strides.x + i.y * strides.y + i.z * strides.z + i.w * strides.w;
}

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int o = flatIndex();
    if (o >= outputs) return;
    int base = first(o);
    float value = x[base];
    for (int j = 1; j < count; j++)
    {
        float v = x[base + offset(j)];
#if defined(MAX)
        value = v > value || isnan(v) ? v : value;
#elif defined(MIN)
        value = v < value || isnan(v) ? v : value;
#else
        value += v;
#endif
    }
#if defined(MEAN)
    value /= float(count);
#endif
    y[o] = value;
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = INPUT2) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y[o] = ⊕ x over the set of o: each input element belongs to one output, which hands it
// its share of dy[o].
void main()
{
    int o = flatIndex();
    if (o >= outputs) return;
    int base = first(o);
    float share = dy[o];
#if defined(MEAN)
    share /= float(count);
#endif
#if defined(MAX) || defined(MIN)
    int ties = 0;
    for (int j = 0; j < count; j++) ties += x[base + offset(j)] == y[o] ? 1 : 0;
    share /= float(ties);
    for (int j = 0; j < count; j++)
        if (x[base + offset(j)] == y[o]) dx[base + offset(j)] += share;
#else
    for (int j = 0; j < count; j++) dx[base + offset(j)] += share;
#endif
}
#endif
