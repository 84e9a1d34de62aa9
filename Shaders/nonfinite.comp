#version 430
// nonfinite.comp: the non-finite guard (Training/NonFiniteGuard). Variants:
//   FLAG   flags[index] = 1 when any x[i] (i < floatCount) is NaN or ±∞, one invocation per vec4. Several invocations may write the
//          same 1.0 at once; every writer stores the same value, so the race is benign and no atomics are needed.
//          With MULTI_TENSOR (GLBackend.FlagNonFiniteTensors), one dispatch flags many tensors that are ranges of one buffer
//          (IBackend.AllocateGroup): x is the whole buffer and a table (segments.glsl) has a row per tensor: its first vec4 of
//          the dispatch, where it starts in x (vec4s), its length (floats) and its flag index. An invocation finds its row
//          and judges its vec4 as the per-tensor variant does, so the gaps between the tensors are never read.
//          With MULTI_BUFFER, one dispatch flags up to seven tensors that each have a binding of their own (tensors of different
//          buffers): a uniform array gives each its first vec4 of the dispatch, its length (floats) and its flag index.
//   LATCH  one invocation: when the report is clear (bits of report[0] = 0) and some flags[i] ≠ 0, copies the flags
//          to report[1 + i] and stores the step t as the raw bits of report[0]. Later steps find report[0] set and
//          leave the first bad step's flags alone.
//   RESTORE target[i] = saved[i] (i < count floats) when the report is set (bits of report[0] ≠ 0), else saved[i] = target[i]:
//          a bad step's forward pass leaves batch norm's running statistics as they were; a good one's become the saved copy.
// Non-finite is tested on the exponent bits (all ones), which no compiler may fold away as fast-math can isnan().
#include "common.glsl"
#if defined(MULTI_TENSOR)
#define SEGMENT_COLUMNS 4
#include "segments.glsl"
#endif

#if defined(FLAG)
layout(std430, binding = OUTPUT0) buffer FlagBuffer { float flags[]; };
uniform int count;  // vec4s

// Flags `index` when a lane of `bits` (vec4 `local` of a tensor of `floatCount` floats) inside the tensor is NaN or ±∞.
void judge(uvec4 bits, int local, int floatCount, int index)
{
    uvec4 exponent = bits & uvec4(0x7F800000u);
    uvec4 inside = uvec4(lessThan(ivec4(4 * local) + ivec4(0, 1, 2, 3), ivec4(floatCount)));
    if (any(notEqual(uvec4(equal(exponent, uvec4(0x7F800000u))) * inside, uvec4(0u)))) flags[index] = 1.0;
}

#if defined(MULTI_BUFFER)
// Up to MAX_TENSORS tensors, each bound on its own (a whole buffer or a range), at every binding but the flags'.
#define MAX_TENSORS 7
layout(std430, binding = INPUT0) readonly buffer Tensor0 { uvec4 x0[]; };
layout(std430, binding = INPUT1) readonly buffer Tensor1 { uvec4 x1[]; };
layout(std430, binding = INPUT2) readonly buffer Tensor2 { uvec4 x2[]; };
layout(std430, binding = OUTPUT1) readonly buffer Tensor3 { uvec4 x3[]; };
layout(std430, binding = OUTPUT2) readonly buffer Tensor4 { uvec4 x4[]; };
layout(std430, binding = INPUT3) readonly buffer Tensor5 { uvec4 x5[]; };
layout(std430, binding = INPUT4) readonly buffer Tensor6 { uvec4 x6[]; };
uniform int tensorCount;
uniform ivec4 tensors[MAX_TENSORS]; // per tensor: its first vec4 of the dispatch (ascending from 0), its length (floats), its flag index

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    int t = 0;
    for (int k = 1; k < tensorCount; k++)
        if (tensors[k].x <= i) t = k;
    int local = i - tensors[t].x;
    uvec4 bits;
    switch (t)
    {
        case 0: bits = x0[local]; break;
        case 1: bits = x1[local]; break;
        case 2: bits = x2[local]; break;
        case 3: bits = x3[local]; break;
        case 4: bits = x4[local]; break;
        case 5: bits = x5[local]; break;
        default: bits = x6[local]; break;
    }
    judge(bits, local, tensors[t].y, tensors[t].z);
}
#else
layout(std430, binding = INPUT0) readonly buffer InputBuffer { uvec4 x[]; };
#if !defined(MULTI_TENSOR)
uniform int floatCount; // floats: the last vec4's padding lanes are not the tensor's and are not checked
uniform int index;
#endif

void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(MULTI_TENSOR)
    int row = segmentOf(i, 0);
    int local = i - int(segmentValue(row, 0)); // the vec4 within its tensor
    judge(x[int(segmentValue(row, 1)) + local], local, int(segmentValue(row, 2)), int(segmentValue(row, 3)));
#else
    judge(x[i], i, floatCount, index);
#endif
}
#endif
#elif defined(LATCH)
layout(std430, binding = INPUT0) readonly buffer FlagBuffer { float flags[]; };
layout(std430, binding = OUTPUT0) buffer ReportBuffer { uint report[]; };
uniform int count; // M flags
uniform uint step;

void main()
{
    if (flatIndex() != 0 || report[0] != 0u) return;
    bool bad = false;
    for (int i = 0; i < count; i++) bad = bad || flags[i] != 0.0;
    if (!bad) return;
    for (int i = 0; i < count; i++) report[1 + i] = floatBitsToUint(flags[i]);
    report[0] = step;
}
#elif defined(RESTORE)
layout(std430, binding = INPUT1) readonly buffer ReportBuffer { uint report[]; };
layout(std430, binding = OUTPUT0) buffer TargetBuffer { float target[]; };
layout(std430, binding = OUTPUT1) buffer SavedBuffer { float saved[]; };
uniform int count; // floats

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    if (report[0] != 0u) target[i] = saved[i];
    else saved[i] = target[i];
}
#endif
