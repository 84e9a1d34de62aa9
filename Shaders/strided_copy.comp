#version 430
// strided_copy.comp: the data movement of the shape ops (StridedMap): for every index i = (i0,i1,i2,i3) below extent,
//   y[destinationOffset + i·destinationStrides] = x[sourceOffset + i·sourceStrides]      (COPY: forward)
//   y[destinationOffset + i·destinationStrides] += x[sourceOffset + i·sourceStrides]     (ACCUMULATE: backward, map reversed)
// Transpose, slicing (negative strides for a negative step), concatenation along any axis and index selection are such
// copies. The maps write each destination element at most once, so invocations never race.
#include "common.glsl"

uniform ivec4 extent;
uniform ivec4 sourceStrides;
uniform ivec4 destinationStrides;
uniform int sourceOffset;
uniform int destinationOffset;
uniform int count;

layout(std430, binding = INPUT0) readonly buffer SourceBuffer { float x[]; };
layout(std430, binding = OUTPUT0) buffer DestinationBuffer { float y[]; };

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    ivec4 index = ivec4(i / (extent.y * extent.z * extent.w), i / (extent.z * extent.w) % extent.y, i / extent.w % extent.z, i % extent.w);
    int from = sourceOffset + index.x * sourceStrides.x + index.y * sourceStrides.y + index.z * sourceStrides.z + index.w * sourceStrides.w;
    int to = destinationOffset + index.x * destinationStrides.x + index.y * destinationStrides.y + index.z * destinationStrides.z + index.w * destinationStrides.w;
#if defined(ACCUMULATE)
    y[to] += x[from];
#elif defined(COPY)
    y[to] = x[from];
#else
#error "strided_copy.comp: define COPY or ACCUMULATE"
#endif
}
