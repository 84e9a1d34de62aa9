namespace NeuroPlugin.Tests.Ops;

/// <summary>Batch normalization on the GL backend: PyTorch golden files, and GL == CPU (1e-4) on randomized
/// shapes, from one value per chunk to many chunks per channel, in training and eval mode.</summary>
public sealed class BatchNormGLTests : GLFixture
{
    [TestCaseSource(typeof(BatchNormChecks), nameof(BatchNormChecks.GoldenFiles))]
    public void MatchesPyTorch(string file) => BatchNormChecks.MatchesPyTorch(Backend, file);

    static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(new TensorShape(7, 5)).SetArgDisplayNames("(7,5)");
        yield return new TestCaseData(new TensorShape(64, 120)).SetArgDisplayNames("(64,120) after a Linear");
        yield return new TestCaseData(new TensorShape(2, 3)).SetArgDisplayNames("(2,3)");
        yield return new TestCaseData(new TensorShape(1, 3, 5, 7)).SetArgDisplayNames("(1,3,5,7)");
        yield return new TestCaseData(new TensorShape(4, 6, 9, 9)).SetArgDisplayNames("(4,6,9,9)");
        yield return new TestCaseData(new TensorShape(3, 1, 1, 3)).SetArgDisplayNames("(3,1,1,3) one channel");
        yield return new TestCaseData(new TensorShape(16, 6, 28, 28)).SetArgDisplayNames("(16,6,28,28) many chunks");
        yield return new TestCaseData(new TensorShape(5, 7, 3, 2)).SetArgDisplayNames("(5,7,3,2) odd");
    }

    [TestCaseSource(nameof(Shapes))]
    public void ForwardAndBackwardMatchCpu(TensorShape shape)
    {
        using var twins = new TwinBackends(Backend, shape.Length);
        var channels = new TensorShape(shape[1]);
        // a mean offset of 3 next to a spread of 1: a one-pass Σx² − (Σx)² variance would lose digits here
        var x = twins.FromValues(shape, "x", Enumerable.Range(0, shape.Length).Select(i => 3f + MathF.Sin(i * 0.7f + shape[1])).ToArray());
        var gamma = twins.Random(channels, "weight");
        var beta = twins.Random(channels, "bias");
        var runningMean = twins.Random(channels, "running_mean");
        var runningVar = twins.FromValues(channels, "running_var", Enumerable.Range(0, channels.Length).Select(c => 0.5f + c * 0.1f).ToArray());
        var saveMean = twins.Random(channels, "save_mean", 100);
        var saveInvStd = twins.Random(channels, "save_inv_std", 100);
        foreach (bool training in new[] { true, false })
        {
            string mode = training ? "training" : "eval";
            var y = twins.Random(shape, "y", 100);
            twins.Run(be => be.BatchNormForward(x[be], gamma[be], beta[be], runningMean[be], runningVar[be], saveMean[be], saveInvStd[be], y[be], training, 0.1f, 1e-5f));
            TwinBackends.AssertSame(y, $"{mode} y");
            TwinBackends.AssertSame(saveMean, $"{mode} saved mean");
            TwinBackends.AssertSame(saveInvStd, $"{mode} saved 1/std");
            TwinBackends.AssertSame(runningMean, $"{mode} running_mean");
            TwinBackends.AssertSame(runningVar, $"{mode} running_var");

            var dy = twins.Random(shape, "dy");
            var dx = twins.Random(shape, "dx");
            var dGamma = twins.Random(channels, "dweight");
            var dBeta = twins.Random(channels, "dbias");
            twins.Run(be => be.BatchNormBackward(x[be], gamma[be], saveMean[be], saveInvStd[be], dy[be], dx[be], dGamma[be], dBeta[be], training));
            TwinBackends.AssertSame(dx, $"{mode} dx");
            TwinBackends.AssertSame(dGamma, $"{mode} dweight");
            TwinBackends.AssertSame(dBeta, $"{mode} dbias");
        }
    }

    [Test]
    public void BackwardSkipsNullGradients()
    {
        var shape = new TensorShape(3, 4, 5, 2);
        var channels = new TensorShape(4);
        using var twins = new TwinBackends(Backend, 9);
        var x = twins.Random(shape, "x");
        var gamma = twins.Random(channels, "weight");
        var saveMean = twins.Random(channels, "save_mean", 0.1);
        var saveInvStd = twins.FromValues(channels, "save_inv_std", [1.5f, 0.7f, 2f, 1f]);
        var dy = twins.Random(shape, "dy");
        var dx = twins.Random(shape, "dx");
        var dGamma = twins.Random(channels, "dweight");
        twins.Run(be => be.BatchNormBackward(x[be], gamma[be], saveMean[be], saveInvStd[be], dy[be], dx[be], null, null, true));
        TwinBackends.AssertSame(dx, "dx alone");
        twins.Run(be => be.BatchNormBackward(x[be], gamma[be], saveMean[be], saveInvStd[be], dy[be], null, dGamma[be], null, true));
        TwinBackends.AssertSame(dGamma, "dweight alone");
    }
}
