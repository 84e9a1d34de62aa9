namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Steady-state behaviour of the GL backend: no managed allocation per op, and LeNet-5 training throughput.</summary>
public sealed class GLPerformanceTests : GLFixture
{
    [Test]
    public void SteadyStateOpsAllocateNothing()
    {
        using var lenet = new LeNetWorkload(Backend, batch: 8, seed: 1);
        var lossValue = new float[1];
        AllocationAssert.SteadyStateAllocatesNothing(_ =>
        {
            lenet.TrainStep(0.01f);
            Backend.Copy(lenet.Input, lenet.Input);
            lenet.Loss.Download(lossValue);
            Device.CheckErrors("allocation test");
        }, 20, "managed bytes allocated by 20 LeNet training steps (forward, backward, SGD, fills, readback)");
    }

    [Test]
    public void LeNetTrainingThroughput()
    {
        const int Batch = 64, Steps = 30;
        using var lenet = new LeNetWorkload(Backend, Batch, seed: 2);
        var lossValue = new float[1];
        lenet.TrainStep(0.05f);
        lenet.Loss.Download(lossValue);
        float first = lossValue[0];

        bool debug = Device.DebugMode;
        Device.DebugMode = false; // measure what a training run sees
        try
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < Steps; i++) lenet.TrainStep(0.05f);
            lenet.Loss.Download(lossValue);
            double seconds = clock.Elapsed.TotalSeconds;
            double imagesPerSecond = Steps * Batch / seconds;
            TestContext.Progress.WriteLine(
                $"GL LeNet-5 training, batch {Batch}: {seconds * 1000 / Steps:F1} ms/step, {imagesPerSecond:F0} images/s " +
                $"(2 Fashion-MNIST epochs ≈ {120_000 / imagesPerSecond:F0} s) on {Device.Renderer}");
            clock.Restart();
            for (int i = 0; i < Steps; i++) lenet.Forward();
            lenet.Loss.Download(lossValue);
            TestContext.Progress.WriteLine($"GL LeNet-5 inference, batch {Batch}: {clock.Elapsed.TotalMilliseconds / Steps:F2} ms/batch");
            Assert.That(imagesPerSecond, Is.GreaterThan(100), "LeNet-5 training throughput collapsed");
        }
        finally
        {
            Device.DebugMode = debug;
        }
        Assert.That(lossValue[0], Is.LessThan(first), "training on a fixed batch lowers the loss");
    }

    [Test, Explicit("profiling aid: per-op timings of a LeNet-5 batch of 64")]
    public void LeNetOpTimings()
    {
        using var lenet = new LeNetWorkload(Backend, 64, seed: 3);
        lenet.TrainStep(0.01f);
        Device.DebugMode = false;
        var gl = Device.GL;
        gl.Finish();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) lenet.Forward();
        gl.Finish();
        double forward = clock.Elapsed.TotalMilliseconds / 20;
        clock.Restart();
        for (int i = 0; i < 20; i++) lenet.TrainStep(0.01f);
        gl.Finish();
        double step = clock.Elapsed.TotalMilliseconds / 20;
        TestContext.Progress.WriteLine($"forward {forward:F2} ms, train step {step:F2} ms");
        Device.DebugMode = true;
    }
}
