using Geometry = NeuroPlugin.Tests.Cpu.ConvolutionKernelTests.Geometry;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The pixel-major forward of small planes of wide layers (the GEMM whose rows are an image's output pixels, its panels
/// packed from the direct convolution's phase planes): a batch-1 call keeps its image's panels for the next call on the
/// same input (a frame budget's parts), and must pack again after any change to the input. Its values against the
/// definition and under work slices are in <see cref="ConvolutionKernelTests"/> and <see cref="ConvolutionSliceTests"/>.
/// </summary>
public class PixelMajorConvolutionTests
{
    // 49 pixels, K = 1080, 64 outputs: the pixel-major path
    static readonly Geometry Layer = new(1, 120, 64, 7, 7, Window2d.Square(3, 1, 1));

    [Test]
    public void NewInputs_ArePackedAgain_AndTheSameInputIsNot()
    {
        using var cpu = new CpuBackend { Threads = 2 };
        var (x, weight, bias, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, Layer);
        var w = Layer.Window;
        cpu.Conv2dForward(x, weight, bias, y, w);
        float[] first = y.ToArray();
        cpu.Conv2dForward(x, weight, bias, y, w);
        Assert.That(y.ToArray(), Is.EqualTo(first), "the same input: the same bits");

        // each change must give what a backend that never saw the input before gives
        foreach (var (what, change) in TensorChanges.Of(cpu, x, new Random(3)))
        {
            change();
            cpu.Conv2dForward(x, weight, bias, y, w);
            using var fresh = new CpuBackend { Threads = 2 };
            var (freshX, freshWeight, freshBias) = (Upload(fresh, x), Upload(fresh, weight), Upload(fresh, bias));
            var expected = fresh.Allocate(y.Shape, "expected");
            fresh.Conv2dForward(freshX, freshWeight, freshBias, expected, w);
            Assert.That(y.ToArray(), Is.EqualTo(expected.ToArray()), $"after {what}");
        }

        // the same input through another window reads other pixels
        var strided = cpu.Allocate(new TensorShape(1, Layer.OutChannels, 4, 4), "strided");
        cpu.Conv2dForward(x, weight, bias, strided, Window2d.Square(3, 2, 1));
        using var reference = new CpuBackend { Threads = 2 };
        var expectedStrided = reference.Allocate(strided.Shape, "expected");
        reference.Conv2dForward(Upload(reference, x), Upload(reference, weight), Upload(reference, bias), expectedStrided, Window2d.Square(3, 2, 1));
        Assert.That(strided.ToArray(), Is.EqualTo(expectedStrided.ToArray()), "stride 2 after stride 1 on the same input");
    }

    [Test]
    public void Forward_AllocatesNothingOnceWarm()
    {
        using var cpu = new CpuBackend { Threads = 2 };
        var (x, weight, bias, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, Layer);
        // a new input each time, so the panels are packed on every call
        AllocationAssert.SteadyStateAllocatesNothing(_ =>
        {
            cpu.Fill(x, 0.25f);
            cpu.Conv2dForward(x, weight, bias, y, Layer.Window);
        }, 20, "the pixel-major convolution");
    }

    static Tensor Upload(IBackend backend, Tensor source)
    {
        var tensor = backend.Allocate(source.Shape, "copy");
        tensor.Upload(source.ToArray());
        return tensor;
    }
}
