#version 430
// transfer.comp: every write into a buffer that is not an op's own output — fills, copies, uploads out of the
// staging ring, readbacks into mapped staging — as a kernel, so that each one is ordered with every other kernel
// by the barrier that follows each dispatch (GL orders no clear, glBufferSubData or glCopyBufferSubData after a
// kernel's reads; see Documentation~/ARCHITECTURE.md, "Ordering rules"). Variants:
//   FILL          y[i] = (value, value, value, value)        i < count vec4s (tensors are whole vec4s)
//   COPY_VECTORS  y[to + i] = x[from + i]                    i < count vec4s, offsets in vec4s
//   COPY          y[to + i] = x[from + i]                    i < count floats, offsets in floats
#include "common.glsl"

uniform int count;

#if defined(FILL)
layout(std430, binding = OUTPUT0) writeonly buffer DestinationBuffer { vec4 y[]; };
uniform float value;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = vec4(value);
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
