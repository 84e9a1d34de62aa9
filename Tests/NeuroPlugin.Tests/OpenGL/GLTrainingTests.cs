using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Training through the execution plan on the GL backend, and the foundation's acceptance run.</summary>
public sealed class GLTrainingTests : GLFixture
{
    [Test]
    public void TrainStep_AllocatesNothingAndReadsNothingBack() => TrainingChecks.AssertStepsAllocateNothingAndReadNothing(Backend);

    [Test]
    public void SameSeed_GivesTheSameStepsAsTheCpuBackend()
    {
        // 20 steps of LeNet-5 from identical weights and batches: the GL weights track the CPU weights
        using var cpu = new CpuBackend();
        var data = FashionMnist.LoadTrain().Take(640);
        float[] Train(NeuroPlugin.Backends.IBackend backend)
        {
            using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 5);
            using var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), 32);
            trainer.TrainEpoch(new DataLoader(data, 32, seed: 5, dropLast: true), 0);
            return network.Parameter("fc3.weight").ToArray();
        }
        // float32 sums in another order drift apart step by step; after 20 momentum steps 1e-3 of the weights' scale holds
        TestSupport.TensorAssert.AreClose(Train(cpu), Train(Backend), 1e-3, "fc3.weight after 20 steps");
    }

    [Test]
    public void SynchronousCommands_GiveTheSameStepsAsQueuedCommands()
    {
        // the diagnostic that waits after every command must not change any result, only the timing
        var data = FashionMnist.LoadTrain().Take(320);
        float[] Train(bool synchronous)
        {
            Device.SynchronousCommands = synchronous;
            try
            {
                using var network = Network.Create(ModelZoo.Build("lenet5"), Backend, seed: 6);
                using var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), 32);
                trainer.TrainEpoch(new DataLoader(data, 32, seed: 6, dropLast: true), 0);
                return network.Parameter("conv1.weight").ToArray();
            }
            finally
            {
                Device.SynchronousCommands = false;
            }
        }
        Assert.That(Train(synchronous: true), Is.EqualTo(Train(synchronous: false)));
    }

    /// <summary>Acceptance of the runtime foundation: LeNet-5 trained 2 epochs on the full Fashion-MNIST with
    /// the command line's defaults reaches ≥ 88 % test accuracy on GL and on the CPU, within 0.5 % of each other.</summary>
    [Test]
    [Category("Acceptance")]
    public void LeNet5_TwoEpochs_ReachesEightyEightPercentOnBothBackends()
    {
        var train = FashionMnist.LoadTrain();
        var test = FashionMnist.LoadTest();
        double Accuracy(NeuroPlugin.Backends.IBackend backend)
        {
            using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
            var loader = new DataLoader(train, 32, seed: 1, dropLast: true);
            using var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), 32, LearningRateSchedule.Cosine, 2L * loader.BatchesPerEpoch);
            for (int epoch = 0; epoch < 2; epoch++) trainer.TrainEpoch(loader, epoch);
            return Classification.Accuracy(network, test);
        }
        double gl = Accuracy(Backend);
        using var cpu = new CpuBackend();
        double onCpu = Accuracy(cpu);
        TestContext.Progress.WriteLine($"LeNet-5, 2 epochs: GL {gl:P2}, CPU {onCpu:P2}");
        Assert.That(gl, Is.GreaterThanOrEqualTo(0.88), "GL test accuracy");
        Assert.That(onCpu, Is.GreaterThanOrEqualTo(0.88), "CPU test accuracy");
        Assert.That(Math.Abs(gl - onCpu), Is.LessThanOrEqualTo(0.005), "same seed, GL vs CPU");
    }
}
