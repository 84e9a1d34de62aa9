// common.glsl: included first by every kernel (ShaderLibrary pastes it in place of the #include line).
// A kernel may #define LOCAL_SIZE_X before the include to pick another work group size.
#ifndef LOCAL_SIZE_X
#define LOCAL_SIZE_X 64
#endif
layout(local_size_x = LOCAL_SIZE_X) in;

// ComputeProgram.Dispatch splits a large grid into several glDispatchCompute calls along x (no single
// dispatch long enough to trip a driver watchdog) and passes the first work group of each call here,
// so a kernel sees one flat index space whatever the split.
uniform uint groupOffset;

// The invocation's index in the whole (unsplit) grid along x.
int flatIndex()
{
    return int((groupOffset + gl_WorkGroupID.x) * uint(LOCAL_SIZE_X) + gl_LocalInvocationID.x);
}

// Plain float32 −∞ (max pooling's padding value).
const float negativeInfinity = uintBitsToFloat(0xFF800000u);
