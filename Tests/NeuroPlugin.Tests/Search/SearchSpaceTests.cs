using NeuroPlugin.Search;

namespace NeuroPlugin.Tests.Search;

/// <summary>The search space: every architecture it draws or mutates builds for 28×28 images, every block kind and option
/// is reached, mutations change exactly what they say, costs are counted as <c>neuro inspect</c> counts them, and the
/// latency measurement times a real forward pass.</summary>
public class SearchSpaceTests
{
    static readonly ModelOptions Mnist = new(1, 28, 10);

    static List<SearchGenome> Draw(int count, int seed = 1)
    {
        var random = new SplitMix64((ulong)seed);
        return Enumerable.Range(0, count).Select(_ => SearchSpace.Sample(ref random)).ToList();
    }

    /// <summary>A search trains candidate after candidate on one backend, and a resumed search starts from a fresh one:
    /// a candidate's training must not depend on what the backend ran before (workspaces, planes, packed panels reused
    /// at other shapes), or a killed and resumed search diverges from an uninterrupted one.</summary>
    [Test]
    public void TrainingACandidate_GivesTheSameBits_WhateverTheBackendRanBefore()
    {
        static float[][] Train(CpuBackend backend, SearchGenome genome)
        {
            using var network = Network.Create(SearchSpace.Build(genome, Mnist), backend, seed: 1);
            using var plan = ExecutionPlan.ForTraining(network, 8);
            var random = new Random(5);
            plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble()).ToArray());
            plan.Target!.Upload(Enumerable.Range(0, plan.Target.Length).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray());
            using var optimizer = new Sgd(0.05f, momentum: 0.9f);
            for (int i = 0; i < 3; i++) plan.TrainStep(optimizer);
            return network.ParameterNames.Select(name => network.Parameter(name).ToArray()).ToArray();
        }
        using var shared = new CpuBackend();
        foreach (var genome in Draw(6, seed: 3))
        {
            var afterOthers = Train(shared, genome);
            using var fresh = new CpuBackend();
            Assert.That(afterOthers, Is.EqualTo(Train(fresh, genome)), genome.ToString());
        }
    }

    [Test]
    public void SampledArchitectures_Build_WithTenLogits_AndCountedParametersEqualTheNetworks()
    {
        using var cpu = new CpuBackend();
        foreach (var genome in Draw(60))
        {
            var graph = SearchSpace.Build(genome, Mnist);
            Assert.That(graph.InferShapes(1)[graph.Output].ToArray(), Is.EqualTo(new[] { 1, 10 }), genome.ToString());
            using var network = Network.Create(graph, cpu, seed: 1);
            Assert.That(ArchitectureCost.Count(graph).Parameters, Is.EqualTo(network.ParameterCount), genome.ToString());
        }
    }

    [Test]
    public void Sampling_ReachesEveryBlock_Downsampling_Kernel_Head_AndSqueezeExcitation()
    {
        var genomes = Draw(400);
        var stages = genomes.SelectMany(g => g.Stages).ToArray();
        Assert.That(stages.Select(s => s.Block).Distinct(), Is.EquivalentTo(Enum.GetValues<SearchBlock>()));
        Assert.That(stages.Select(s => s.Downsample).Distinct(), Is.EquivalentTo(Enum.GetValues<SearchDownsample>()));
        Assert.That(stages.Select(s => s.KernelSize).Distinct(), Is.EquivalentTo(SearchSpace.KernelSizes));
        Assert.That(stages.Select(s => s.Width).Distinct(), Is.EquivalentTo(SearchSpace.Widths));
        Assert.That(stages.Select(s => s.Depth).Distinct(), Is.EquivalentTo(new[] { 1, 2, 3 }));
        Assert.That(stages.Any(s => s.SqueezeExcitation) && stages.Any(s => !s.SqueezeExcitation));
        Assert.That(genomes.Select(g => g.Head).Distinct(), Is.EquivalentTo(Enum.GetValues<SearchHead>()));
        Assert.That(genomes.All(g => g.Stages.Count(s => s.Downsample != SearchDownsample.None) <= SearchSpace.MaxDownsamples));
    }

    [Test]
    public void Build_UsesTheZooBlocks_WithTheGenomesKernelWidthAndStride()
    {
        var genome = new SearchGenome(8, 3,
        [
            new(SearchBlock.Residual, 16, 2, 5, SearchDownsample.Stride, 2, SqueezeExcitation: true),
            new(SearchBlock.InvertedResidual, 24, 1, 3, SearchDownsample.MaxPool, 4, false),
            new(SearchBlock.Separable, 12, 1, 5, SearchDownsample.AveragePool, 2, false),
            new(SearchBlock.Plain, 32, 1, 3, SearchDownsample.None, 2, false),
        ], SearchHead.Max);
        var graph = SearchSpace.Build(genome, Mnist);
        var shapes = graph.InferShapes(1);
        var layers = graph.Nodes.ToDictionary(n => n.Name, n => n.Layer);
        Assert.That(layers["stage1.0.conv1"].Parameters[0].Shape.ToArray(), Is.EqualTo(new[] { 16, 8, 5, 5 }), "residual block, k = 5");
        Assert.That(shapes["stage1.0.conv1"].ToArray(), Is.EqualTo(new[] { 1, 16, 14, 14 }), "stride 2 in the first block");
        Assert.That(layers.ContainsKey("stage1.0.downsample.0") && layers.ContainsKey("stage1.1.se.scale") && layers.ContainsKey("stage1.0.se.fc1"));
        Assert.That(layers["stage1.0.se.fc1"].Parameters[0].Shape.ToArray(), Is.EqualTo(new[] { 16 / SearchSpace.SqueezeReduction, 16 }));
        Assert.That(shapes["stage2.pool"].ToArray(), Is.EqualTo(new[] { 1, 16, 7, 7 }), "max pool 2×2");
        Assert.That(layers["stage2.0.conv.0.0"].Parameters[0].Shape.ToArray(), Is.EqualTo(new[] { 64, 16, 1, 1 }), "expansion 4");
        Assert.That(layers["stage2.0.conv.1.0"].Parameters[0].Shape.ToArray(), Is.EqualTo(new[] { 64, 1, 3, 3 }), "depthwise 3×3");
        Assert.That(layers["stage3.pool"].Type, Is.EqualTo("AvgPool2d"));
        Assert.That(layers["stage3.0.depthwise"].Parameters[0].Shape.ToArray(), Is.EqualTo(new[] { 24, 1, 5, 5 }), "separable, k = 5");
        Assert.That(shapes["stage4.0.conv"].ToArray(), Is.EqualTo(new[] { 1, 32, 3, 3 }));
        Assert.That(layers["head.pool"].Type, Is.EqualTo("GlobalMaxPool2d"));
        Assert.That(shapes["fc"].ToArray(), Is.EqualTo(new[] { 1, 10 }));
    }

    [Test]
    public void Mutate_ChangesTheGenome_StaysInTheSpace_AndRepeatsFromTheSameGenerator()
    {
        var changes = new HashSet<string>();
        var parents = Draw(150, seed: 7);
        for (int i = 0; i < parents.Count; i++)
        {
            var parent = parents[i];
            var random = new SplitMix64((ulong)i);
            var again = new SplitMix64((ulong)i);
            var (child, change) = SearchSpace.Mutate(parent, ref random);
            Assert.That(SearchSpace.Mutate(parent, ref again), Is.EqualTo((child, change)), "same generator state, same child");
            Assert.That(child, Is.Not.EqualTo(parent));
            Assert.That(child.Stages, Has.Count.InRange(1, SearchSpace.MaxStages));
            Assert.That(child.Stages.Count(s => s.Downsample != SearchDownsample.None), Is.LessThanOrEqualTo(SearchSpace.MaxDownsamples));
            Assert.DoesNotThrow(() => SearchSpace.Build(child, Mnist), child.ToString());
            int differing = Differences(parent, child);
            if (change.EndsWith("inserted") || change.EndsWith("removed")) Assert.That(child.Stages.Count, Is.Not.EqualTo(parent.Stages.Count), change);
            else Assert.That(differing, Is.EqualTo(1), $"{change}: one field changes ({parent} → {child})");
            changes.Add(System.Text.RegularExpressions.Regex.Replace(change, @"stage \d+ ", "stage "));
        }
        Assert.That(changes, Is.SupersetOf(new[] { "stem width", "stem kernel", "head", "stage block", "stage width", "stage depth", "stage kernel",
            "stage downsampling", "stage expansion", "stage squeeze-excitation", "stage inserted", "stage removed" }));
    }

    /// <summary>Fields that differ between two genomes with the same number of stages.</summary>
    static int Differences(SearchGenome a, SearchGenome b)
    {
        if (a.Stages.Count != b.Stages.Count) return int.MaxValue;
        int count = (a.StemWidth != b.StemWidth ? 1 : 0) + (a.StemKernel != b.StemKernel ? 1 : 0) + (a.Head != b.Head ? 1 : 0);
        foreach (var (x, y) in a.Stages.Zip(b.Stages))
            count += (x.Block != y.Block ? 1 : 0) + (x.Width != y.Width ? 1 : 0) + (x.Depth != y.Depth ? 1 : 0) + (x.KernelSize != y.KernelSize ? 1 : 0)
                + (x.Downsample != y.Downsample ? 1 : 0) + (x.Expansion != y.Expansion ? 1 : 0) + (x.SqueezeExcitation != y.SqueezeExcitation ? 1 : 0);
        return count;
    }

    [Test]
    public void Count_OfLeNet5_IsItsPublishedSize_AndFlopsAreTwoPerMultiplyAccumulate()
    {
        // conv1 6·25·784 + conv2 16·150·100 + fc 400·120 + 120·84 + 84·10 multiply–accumulates, and the 2×2 pools' window
        // reads as the layers count them (6·196·4 + 16·25·4); parameters with biases
        long macs = 6 * 25 * 784 + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10 + 6 * 196 * 4 + 16 * 25 * 4;
        Assert.That(ArchitectureCost.Count(LeNet5.Build(Mnist)), Is.EqualTo((61_706L, 2 * macs)));
    }

    [Test]
    public void MeasureLatency_TimesABatchOneForward_LargerNetworksTakeLonger()
    {
        using var cpu = new CpuBackend();
        using var small = Network.Create(LeNet5.Build(Mnist), cpu, seed: 1);
        using var large = Network.Create(ModelZoo.Build("resnet_cifar", Mnist), cpu, seed: 1);
        double smallMs = ArchitectureCost.MeasureLatency(small), largeMs = ArchitectureCost.MeasureLatency(large);
        Assert.That(smallMs, Is.GreaterThan(0).And.LessThan(1000));
        Assert.That(largeMs, Is.GreaterThan(smallMs), $"ResNet-20 ({largeMs:0.000} ms) is slower than LeNet-5 ({smallMs:0.000} ms)");
    }

    [Test]
    public void ParetoFront_KeepsTheCandidatesNoOtherBeatsOnAccuracyLatencyAndParameters()
    {
        var genome = Draw(1)[0];
        SearchCandidate C(int id, double accuracy, double ms, long parameters, CandidateStatus status = CandidateStatus.Trained) =>
            new(id, null, "random", genome, parameters, 0, ms, status, status == CandidateStatus.Trained ? accuracy : null, 1, 0, "m");
        var candidates = new[]
        {
            C(0, 0.80, 1.0, 1000),  // front: fastest
            C(1, 0.85, 2.0, 2000),  // front
            C(2, 0.84, 2.5, 2500),  // dominated by 1
            C(3, 0.90, 3.0, 500),   // front: smallest and most accurate
            C(4, 0.80, 1.0, 1000),  // equal to 0: neither dominates, both stay
            C(5, 0.99, 0.1, 10, CandidateStatus.OverLatency), // untrained: not on the front
            C(6, 0.79, 0.9, 5000),  // front: faster than everything else
        };
        Assert.That(ParetoFront.Of(candidates).Select(c => c.Id), Is.EqualTo(new[] { 6, 0, 4, 1, 3 }));
        Assert.That(ParetoFront.Of(candidates, c => [c.Parameters]).Select(c => c.Id), Is.EqualTo(new[] { 3 }));
    }
}
