#version 430
// transfer.comp: every write into a buffer that is not an op's own output — fills, copies, uploads out of the
// staging ring, readbacks into mapped staging — as a kernel, so that each one is ordered with every other kernel
// by the barrier that follows each dispatch (GL orders no clear, glBufferSubData or glCopyBufferSubData after a
// kernel's reads; see Documentation~/ARCHITECTURE.md, "Ordering rules"). Variants:
//   FILL          yₖ[i] = (valueₖ, valueₖ, valueₖ, valueₖ)   i < countₖ vec4s, up to four tensors k at once
//                 (tensors are whole vec4s; GLBackend.Fill queues fills and runs them four at a time)
//   COPY_VECTORS  y[to + i] = x[from + i]                    i < count vec4s, offsets in vec4s
//   COPY          y[to + i] = x[from + i]                    i < count floats, offsets in floats
#include "common.glsl"

#if !defined(FILL)
uniform int count;
#endif

#if defined(FILL)
layout(std430, binding = OUTPUT0) writeonly buffer Destination0 { vec4 y0[]; };
layout(std430, binding = OUTPUT1) writeonly buffer Destination1 { vec4 y1[]; };
layout(std430, binding = OUTPUT2) writeonly buffer Destination2 { vec4 y2[]; };
layout(std430, binding = OUTPUT3) writeonly buffer Destination3 { vec4 y3[]; };
uniform ivec4 counts;   // vec4s of each destination (0: slot unused)
uniform vec4 values;

void main()
{
    int i = flatIndex();
    if (i < counts.x) y0[i] = vec4(values.x);
    if (i < counts.y) y1[i] = vec4(values.y);
    if (i < counts.z) y2[i] = vec4(values.z);
    if (i < counts.w) y3[i] = vec4(values.w);
}

#elif defined(COPY_VECTORS)
layout(std430, binding = INPUT0) readonly buffer SourceBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer DestinationBuffer { vec4 y[]; };
uniform int from;
uniform int to;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[to + i] = x[from + i];
}

#elif defined(COPY)
layout(std430, binding = INPUT0) readonly buffer SourceBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer DestinationBuffer { float y[]; };
uniform int from;
uniform int to;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[to + i] = x[from + i];
}
#endif
