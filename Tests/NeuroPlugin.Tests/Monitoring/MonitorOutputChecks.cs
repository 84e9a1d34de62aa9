using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>What the monitor gives out: the JSONL run file, evaluations and probes (MonitorTests, on the CPU and GL).</summary>
static class MonitorOutputChecks
{
    const int Batch = 8;

    /// <summary>
    /// A <see cref="Trainer"/> with a monitor, a test set evaluated at each epoch end and a JSONL writer: the file is
    /// readable line by line while the writer is still open (as a killed run leaves it), holds a run line, the sampled
    /// steps with every field the format promises and an evaluation per epoch whose confusion matrix counts every test
    /// image; the last sample's weight norms equal the saved model file's tensors.
    /// </summary>
    public static void JsonlRunMatchesTheSavedModel(IBackend backend)
    {
        using var temp = new TempFolder("neuro-monitor");
        string folder = temp.Path;
        using var workload = new MonitorWorkload(backend);
        var test = MonitorWorkload.Dataset(21, seed: 9);
        using var trainer = new Trainer(workload.Network, new Sgd(0.2f), Batch, totalSteps: 10);
        using var monitor = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 3, TestSet = test, EvaluationBatchSize = 5 });
        var writer = new MonitorJsonlWriter(Path.Combine(folder, "run.jsonl"));
        writer.Attach(monitor);
        var loader = new DataLoader(MonitorWorkload.Dataset(40, seed: 1), Batch, seed: 2, dropLast: true);
        trainer.TrainEpoch(loader, 0);
        trainer.TrainEpoch(loader, 1);
        monitor.Flush();

        string[] lines;
        using (var reader = new StreamReader(new FileStream(writer.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
            lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var records = lines.Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.That(records[0].GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(records[0].GetProperty("parameters").GetArrayLength(), Is.EqualTo(workload.Network.ParameterNames.Count));
        var train = records.Where(r => r.GetProperty("type").GetString() == "train").ToArray();
        var evaluations = records.Where(r => r.GetProperty("type").GetString() == "evaluation").ToArray();
        Assert.That(train.Select(r => r.GetProperty("step").GetInt64()), Is.EqualTo(new long[] { 1, 3, 6, 9, 10 }));
        Assert.That(evaluations.Select(r => r.GetProperty("epoch").GetInt32()), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(writer.Lines, Is.EqualTo(lines.Length));

        foreach (var record in train)
        {
            foreach (string field in new[] { "step", "epoch", "loss", "lr", "imagesPerSecond", "batchAccuracy", "parameters", "nodes" })
                Assert.That(record.TryGetProperty(field, out _), Is.True, $"train line field '{field}'");
            foreach (var parameter in record.GetProperty("parameters").EnumerateArray())
            {
                foreach (string field in new[] { "name", "weightNorm", "gradNorm", "updateNorm", "updateRatio", "zeros", "nonFinite", "histogram" })
                    Assert.That(parameter.TryGetProperty(field, out _), Is.True, $"parameter field '{field}'");
                var histogram = parameter.GetProperty("histogram");
                Assert.That(histogram.GetProperty("counts").GetArrayLength(), Is.EqualTo(MonitorOptions.DefaultHistogramBins));
                Assert.That(histogram.GetProperty("min").GetDouble(), Is.LessThanOrEqualTo(histogram.GetProperty("max").GetDouble()));
            }
            foreach (var node in record.GetProperty("nodes").EnumerateArray())
                foreach (string field in new[] { "name", "mean", "std", "zeroFraction", "saturatedFraction", "gradNorm", "forwardMs", "backwardMs" })
                    Assert.That(node.TryGetProperty(field, out _), Is.True, $"node field '{field}'");
        }
        foreach (var evaluation in evaluations)
        {
            var confusion = evaluation.GetProperty("confusion");
            Assert.That(confusion.GetArrayLength(), Is.EqualTo(MonitorWorkload.Classes), "one row per true class");
            Assert.That(confusion.EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt64())), Is.EqualTo(test.Count));
            Assert.That(evaluation.GetProperty("testAccuracy").GetDouble(), Is.InRange(0, 1));
            Assert.That(evaluation.GetProperty("testLoss").GetDouble(), Is.GreaterThan(0));
        }

        string model = Path.Combine(folder, "model.neuro");
        ModelFile.Save(workload.Network, model);
        using var cpu = new CpuBackend();
        using var saved = ModelFile.Load(model, cpu);
        foreach (var parameter in train[^1].GetProperty("parameters").EnumerateArray())
        {
            string name = parameter.GetProperty("name").GetString()!;
            double norm = Math.Sqrt(saved.Parameter(name).ToArray().Sum(w => (double)w * w));
            Assert.That(parameter.GetProperty("weightNorm").GetDouble(), Is.EqualTo(norm).Within(1e-12 * norm), $"{name}: the last sample's norm against the model file");
        }
        writer.Dispose();
    }

    /// <summary>
    /// An evaluation (batches of 4 over 23 images: a partial last batch) equals the host's from downloaded logits: the
    /// confusion matrix (rows are true classes) and accuracy exactly, the mean cross-entropy, the per-class accuracy and
    /// the most confidently wrong images (most confident first, with their pixels); frame by frame (one batch per
    /// <see cref="ModelEvaluation.Advance"/>) gives the same result.
    /// </summary>
    public static void EvaluationMatchesHost(IBackend backend)
    {
        using var workload = new MonitorWorkload(backend);
        var test = MonitorWorkload.Dataset(23, seed: 6);
        using var evaluation = new ModelEvaluation(workload.Network, test, batchSize: 4, mostConfidentlyWrong: 5);
        Assert.That(evaluation.Advance(int.MaxValue, wait: true), Is.True);
        var result = evaluation.Result(step: 3, epoch: 1);

        var confusion = new long[MonitorWorkload.Classes, MonitorWorkload.Classes];
        var mistakes = new List<(int Index, int Predicted, double Confidence)>();
        double loss = 0;
        using (var plan = ExecutionPlan.ForInference(workload.Network, 1))
        {
            var loader = new DataLoader(test, 1, shuffle: false);
            loader.StartEpoch(0);
            for (int i = 0; loader.TryNextBatch(); i++)
            {
                plan.Input.Upload(loader.Images);
                plan.Forward();
                var z = plan.Output.ToArray();
                int predicted = Classification.ArgMax(z), label = test.Labels[i];
                double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
                confusion[label, predicted]++;
                loss += Math.Log(sum) - (z[label] - max);
                if (predicted != label) mistakes.Add((i, predicted, 1 / sum));
            }
        }
        for (int t = 0; t < MonitorWorkload.Classes; t++)
            for (int p = 0; p < MonitorWorkload.Classes; p++)
                Assert.That(result.Confusion[t][p], Is.EqualTo(confusion[t, p]), $"confusion[{t}][{p}]");
        Assert.That(result.Count, Is.EqualTo(test.Count));
        Assert.That(result.TestAccuracy, Is.EqualTo(Classification.Accuracy(workload.Network, test)), "accuracy as Classification.Accuracy gives it");
        Assert.That(result.TestLoss, Is.EqualTo(loss / test.Count).Within(1e-5 * loss / test.Count));
        Assert.That(result.ClassAccuracy[1], Is.EqualTo((double)confusion[1, 1] / Enumerable.Range(0, 3).Sum(p => confusion[1, p])));
        var expectedWrong = mistakes.OrderByDescending(m => m.Confidence).Take(5).ToArray();
        Assert.That(expectedWrong, Is.Not.Empty, "the untrained workload makes mistakes");
        Assert.That(result.MostConfidentlyWrong.Select(m => m.Index), Is.EqualTo(expectedWrong.Select(m => m.Index)));
        for (int k = 0; k < expectedWrong.Length; k++)
        {
            var mistake = result.MostConfidentlyWrong[k];
            Assert.That(mistake.Predicted, Is.EqualTo(expectedWrong[k].Predicted));
            Assert.That(mistake.Label, Is.EqualTo(test.Labels[mistake.Index]));
            Assert.That(mistake.Confidence, Is.EqualTo(expectedWrong[k].Confidence).Within(1e-6));
            Assert.That(mistake.Pixels, Is.EqualTo(test.GetImage(mistake.Index).ToArray()));
        }

        using var stepwise = new ModelEvaluation(workload.Network, test, batchSize: 4, mostConfidentlyWrong: 5);
        int calls = 0;
        while (!stepwise.Advance(1)) calls++;
        Assert.That(calls, Is.LessThan(1000));
        var again = stepwise.Result(3, 1);
        Assert.That(again.Confusion, Is.EqualTo(result.Confusion));
        Assert.That(again.TestLoss, Is.EqualTo(result.TestLoss));
    }

    /// <summary>Probes: the first convolution's filters are its weights; a node's feature maps for an image (from the host or
    /// already on the device) are that node's output in an eval-mode forward of the image alone.</summary>
    public static void ProbesShowFiltersAndFeatureMaps(IBackend backend)
    {
        using var workload = new MonitorWorkload(backend);
        using var probe = new NetworkProbe(workload.Network);
        var results = new List<ProbeImages>();
        probe.Ready += results.Add;
        Assert.That(probe.FirstConvolution, Is.EqualTo("conv1"));

        var image = new float[MonitorWorkload.Size * MonitorWorkload.Size];
        var random = new Random(8);
        for (int i = 0; i < image.Length; i++) image[i] = (float)random.NextDouble();
        using var onDevice = backend.Allocate(new NeuroPlugin.Tensors.TensorShape(1, 1, MonitorWorkload.Size, MonitorWorkload.Size), "frame");
        onDevice.Upload(image);
        probe.RequestFilters();
        probe.RequestFeatureMaps("relu2", image);
        probe.RequestFeatureMaps("fc1", onDevice);
        probe.Wait();

        Assert.That(results.Select(r => (r.Node, r.Kind)), Is.EqualTo(new[] { ("conv1", "filters"), ("relu2", "featureMaps"), ("fc1", "featureMaps") }));
        var filters = results[0];
        Assert.That((filters.Count, filters.Channels, filters.Height, filters.Width), Is.EqualTo((4, 1, 3, 3)));
        Assert.That(filters.Values, Is.EqualTo(workload.Network.Parameter("conv1.weight").ToArray()));
        using var plan = ExecutionPlan.ForInference(workload.Network, 1, fuseLayers: false);
        plan.Input.Upload(image);
        plan.Forward();
        Assert.That(results[1].Values, Is.EqualTo(plan.Tensor("relu2").ToArray()));
        Assert.That((results[1].Channels, results[1].Height, results[1].Width), Is.EqualTo((6, 4, 4)));
        Assert.That(results[2].Values, Is.EqualTo(plan.Tensor("fc1").ToArray()));
        Assert.That((results[2].Channels, results[2].Height, results[2].Width), Is.EqualTo((16, 1, 1)));

        var bytes = filters.ToBytes(0, 0);
        var weights = filters.Values.AsSpan(0, 9).ToArray();
        Assert.That(bytes[Array.IndexOf(weights, weights.Min())], Is.EqualTo(0));
        Assert.That(bytes[Array.IndexOf(weights, weights.Max())], Is.EqualTo(255));
        Assert.Throws<NeuroPlugin.Graph.GraphException>(() => probe.RequestFilters("relu2"));
    }
}
