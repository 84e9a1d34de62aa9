namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The upload path (<c>GLUploadRing</c>): uploads in chunks through a ring of fenced staging segments, going round
/// the ring several times with no readback in between, in validation mode, whose hazard tracker reports a host write
/// into staging that a queued copy may still read.</summary>
public sealed class GLUploadRingTests : GLFixture
{
    [TestCase(WorkGroupOrder.Shuffled)]
    [TestCase(WorkGroupOrder.Reversed)]
    public void UploadsGoingRoundTheRing_ArriveWhole_WithoutAHazard(WorkGroupOrder order)
    {
        // 5 tensors of 1.6 MB (two chunks each) and one larger than the whole ring (5 chunks): 13 chunks through 4 segments
        const int Floats = 400_003, LargeFloats = 4 * GLUploadRing.ChunkFloats + 1_001;
        int[] lengths = [Floats, Floats, Floats, Floats, Floats, LargeFloats];
        var tensors = lengths.Select((n, t) => Backend.Allocate(new TensorShape(n), $"upload{t}")).ToArray();
        try
        {
            var before = Device.Validation;
            Device.Validation = new GLValidationOptions(order, Seed: 3);
            try
            {
                for (int round = 0; round < 2; round++)
                    for (int t = 0; t < tensors.Length; t++) tensors[t].Upload(Values(lengths[t], round, t));
            }
            finally { Device.Validation = before; }
            for (int t = 0; t < tensors.Length; t++)
                Assert.That(tensors[t].ToArray(), Is.EqualTo(Values(lengths[t], round: 1, t)), $"tensor {t}: the last upload, whole");
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    /// <summary>Distinct, exactly representable values per round, tensor and index.</summary>
    static float[] Values(int length, int round, int tensor)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (i % 65_536) + 65_536f * (2 * tensor + round) / 16f;
        return values;
    }
}
