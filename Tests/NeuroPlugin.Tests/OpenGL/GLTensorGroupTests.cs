namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Tensors of one <see cref="GLBackend.AllocateGroup"/>: aligned, disjoint ranges of one buffer that every transfer
/// and kernel treats as whole tensors, filled as one range, and deleted with the last of them.</summary>
public sealed class GLTensorGroupTests : GLFixture
{
    static readonly TensorShape[] Shapes = [new(5), new(3, 3), new(1), new(2, 2, 2), new(17)];

    Tensor[] Group(string name = "group") =>
        Backend.AllocateGroup(Shapes, Shapes.Select((_, i) => $"{name}{i}").ToArray(), name);

    static float[] Values(int length, float start) => Enumerable.Range(0, length).Select(i => start + i).ToArray();

    [Test]
    public void TensorsAreAlignedDisjointRangesOfOneBuffer()
    {
        var tensors = Group();
        try
        {
            int alignment = Math.Max(4, Device.StorageOffsetAlignment / sizeof(float));
            for (int i = 0; i < tensors.Length; i++)
            {
                Assert.That(Backend.BufferOf(tensors[i]), Is.SameAs(Backend.BufferOf(tensors[0])), "one buffer");
                Assert.That(Backend.OffsetOf(tensors[i]) % alignment, Is.Zero, $"tensor {i} starts on the binding alignment");
                if (i > 0)
                    Assert.That(Backend.OffsetOf(tensors[i]), Is.GreaterThanOrEqualTo(Backend.OffsetOf(tensors[i - 1]) + tensors[i - 1].Length),
                        $"tensor {i} starts after tensor {i - 1}");
            }
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    [Test]
    public void UploadDownloadFillAndCopyTouchOnlyTheirOwnRange()
    {
        var tensors = Group();
        try
        {
            for (int i = 0; i < tensors.Length; i++) tensors[i].Upload(Values(tensors[i].Length, 100 * i));
            for (int i = 0; i < tensors.Length; i++)
                Assert.That(tensors[i].ToArray(), Is.EqualTo(Values(tensors[i].Length, 100 * i)), $"tensor {i} round trip");

            Backend.Fill(tensors[1], -1f);
            Backend.Copy(tensors[2], tensors[2].Reshape(tensors[2].Shape)); // onto itself: nothing
            Backend.CopyRange(tensors[0], 1, tensors[4], 3, 4);            // [1, 5) of tensor 0 to [3, 7) of tensor 4
            Assert.That(tensors[1].ToArray(), Is.All.EqualTo(-1f), "filled");
            Assert.That(tensors[0].ToArray(), Is.EqualTo(Values(5, 0)), "the fill stayed in its range");
            Assert.That(tensors[2].ToArray(), Is.EqualTo(Values(1, 200)), "the fill stayed in its range");
            var expected = Values(17, 400);
            for (int k = 0; k < 4; k++) expected[3 + k] = 1 + k;
            Assert.That(tensors[4].ToArray(), Is.EqualTo(expected), "a range copied between two tensors of the group");
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    [Test]
    public void NeighboursFilledWithOneValueTakeOneDispatch()
    {
        var tensors = Group();
        using var other = Backend.Allocate(new TensorShape(9), "other");
        try
        {
            foreach (var tensor in tensors) tensor.Upload(Values(tensor.Length, 1f));
            other.Upload(Values(9, 1f));
            long before = Device.DispatchCount;
            Backend.Fill(other, 0f);
            foreach (var tensor in tensors) Backend.Fill(tensor, 0f);
            Backend.Fill(tensors[3], 2f); // overlaps the queued range: that range runs first
            Assert.That(tensors[3].ToArray(), Is.All.EqualTo(2f), "the later fill wins");
            Assert.That(Device.DispatchCount - before, Is.EqualTo(2), "five neighbours and another tensor in one dispatch, then the overlapping fill");
            for (int i = 0; i < tensors.Length; i++)
                if (i != 3) Assert.That(tensors[i].ToArray(), Is.All.EqualTo(0f), $"tensor {i} zeroed");
            Assert.That(other.ToArray(), Is.All.EqualTo(0f), "the other tensor zeroed");
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    [Test]
    public void TheBufferGoesWithTheLastTensor()
    {
        int buffers = Device.LiveBufferCount;
        var tensors = Group();
        Assert.That(Device.LiveBufferCount, Is.EqualTo(buffers + 1), "one buffer for the group");
        for (int i = 0; i < tensors.Length - 1; i++)
        {
            tensors[i].Dispose();
            tensors[i].Dispose(); // twice: still one release
            Assert.That(tensors[i].IsDisposed, Is.True);
            Assert.That(Device.LiveBufferCount, Is.EqualTo(buffers + 1), $"after disposing {i + 1} of {tensors.Length}");
        }
        Assert.That(tensors[^1].ToArray(), Has.Length.EqualTo(17), "the last tensor still works");
        Assert.Throws<ObjectDisposedException>(() => tensors[0].ToArray());
        tensors[^1].Dispose();
        Assert.That(Device.LiveBufferCount, Is.EqualTo(buffers), "deleted with the last tensor");
    }
}
