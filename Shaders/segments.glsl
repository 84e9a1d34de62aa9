// segments.glsl: the table of a multi-tensor kernel (GLBackend's GLSegmentTable): one dispatch over many tensors that are
// ranges of shared buffers (IBackend.AllocateGroup). Each tensor has a row of SEGMENT_COLUMNS floats (define it before the
// include); a key column holds the tensor's first index in the dispatch's flat index space, ascending from 0 in row
// order, and the other columns where its ranges start and its hyper-parameters. Whole numbers are floats, exact below
// 2²⁴ (which the host checks), so uploads are float copies.
layout(std430, binding = INPUT1) readonly buffer SegmentBuffer { float segmentTable[]; };
uniform int segmentCount; // rows

float segmentValue(int row, int column)
{
    return segmentTable[row * SEGMENT_COLUMNS + column];
}

// The row of index i: the last row whose key column is ≤ i (binary search).
int segmentOf(int i, int key)
{
    int low = 0, high = segmentCount - 1;
    while (low < high)
    {
        int middle = (low + high + 1) / 2;
        if (int(segmentValue(middle, key)) <= i) low = middle;
        else high = middle - 1;
    }
    return low;
}
