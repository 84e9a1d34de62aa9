// common.glsl: included first by every kernel (ShaderLibrary pastes it in place of the #include line).
// Storage bindings are named (INPUT0…INPUT4, OUTPUT0…OUTPUT3): ShaderLibrary defines the names from
// StorageBinding.cs, the one table that GLBackend binds by.
// A kernel may #define LOCAL_SIZE_X before the include to pick another work group size.
#ifndef LOCAL_SIZE_X
#define LOCAL_SIZE_X 64
#endif
layout(local_size_x = LOCAL_SIZE_X) in;

// ComputeProgram.Dispatch splits a large grid into several glDispatchCompute calls along x (no single
// dispatch long enough to trip a driver watchdog) and passes the first work group of each call here,
// so a kernel sees one flat index space whatever the split. In validation mode (GLDevice.Validation) every
// work group is a dispatch of its own, in shuffled or reversed order, with its row in groupOffsetY.
// Kernels therefore never read gl_WorkGroupID, gl_NumWorkGroups or gl_GlobalInvocationID directly.
uniform uint groupOffset;
uniform uint groupOffsetY;

// The work group's row (y) in the whole grid.
int groupRow()
{
    return int(groupOffsetY + gl_WorkGroupID.y);
}

// The invocation's index in the whole (unsplit) grid along x.
int flatIndex()
{
    return int((groupOffset + gl_WorkGroupID.x) * uint(LOCAL_SIZE_X) + gl_LocalInvocationID.x);
}

// A work slice may run pieces of work groups (ComputeProgram.Dispatch, when the kernel uses laneSkipped): in one
// dispatch the lanes before laneFirst of its first group and the lanes from laneEnd on of its last group skip (laneEnd
// 0: the last group runs whole; both 0, the default, run every lane), so a window of pieces that starts and ends inside
// groups is one dispatch. A kernel whose lanes are independent (no shared memory, no barrier) opts in by returning
// first thing when laneSkipped() is true, so that its heavy groups (a convolution's register blocks: milliseconds a
// group on llvmpipe) can be spread over frames a piece at a time and still give the bits of a whole dispatch.
uniform uint laneFirst;
uniform uint laneEnd;

bool laneSkipped()
{
    return gl_WorkGroupID.x == 0u && gl_LocalInvocationID.x < laneFirst
        || laneEnd != 0u && gl_WorkGroupID.x + 1u == gl_NumWorkGroups.x && gl_LocalInvocationID.x >= laneEnd;
}

// Plain float32 −∞ (max pooling's padding value).
const float negativeInfinity = uintBitsToFloat(0xFF800000u);
