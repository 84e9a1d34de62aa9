namespace NeuroPlugin.Tests.Monitoring;

/// <summary>
/// A small classifier that exercises every statistic: conv1 → sigmoid1 (scaled weights: partly saturated) → pool1 →
/// conv2 → relu2 (channel 0's bias −50: dead for every batch) → flatten → fc1 → tanh1 → fc2 (3 classes), on seeded
/// random 8×8 images.
/// </summary>
sealed class MonitorWorkload : IDisposable
{
    public const int Classes = 3, Size = 8;

    /// <param name="saturating">sigmoid1's activation: Sigmoid, or HardSigmoid (the other activation whose saturation
    /// the monitor counts on the [0, 1] range).</param>
    public MonitorWorkload(IBackend backend, int seed = 5, ActivationKind saturating = ActivationKind.Sigmoid)
    {
        var graph = Graph(saturating);
        Network = Network.Create(graph, backend, seed);
        Scale(Network.Parameter("conv1.weight"), 6f);
        var bias = Network.Parameter("conv2.bias").ToArray();
        bias[0] = -50f;
        Network.Parameter("conv2.bias").Upload(bias);
    }

    public Network Network { get; }

    public static NetworkGraph Graph(ActivationKind saturating = ActivationKind.Sigmoid)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(1, Size, Size));
        x = graph.Add("conv1", new Conv2d(1, 4, kernelSize: 3, padding: 1), x);
        x = graph.Add("sigmoid1", new Activation(saturating), x);
        x = graph.Add("pool1", new MaxPool2d(2), x);
        x = graph.Add("conv2", new Conv2d(4, 6, kernelSize: 3, padding: 1), x);
        x = graph.Add("relu2", Activation.ReLU(), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("fc1", new Linear(6 * 4 * 4, 16), x);
        x = graph.Add("tanh1", Activation.Tanh(), x);
        graph.Add("fc2", new Linear(16, Classes), x);
        return graph;
    }

    /// <summary>Seeded random images (with structure: the class sets the brightness of one quadrant).</summary>
    public static ImageDataset Dataset(int count, int seed)
    {
        var random = new Random(seed);
        var images = new byte[count * Size * Size];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)random.Next(Classes);
            for (int p = 0; p < Size * Size; p++)
            {
                int row = p / Size, column = p % Size, quadrant = (row / 4) * 2 + column / 4;
                images[i * Size * Size + p] = (byte)(random.Next(100) + (quadrant == labels[i] ? 150 : 0));
            }
        }
        return new ImageDataset($"monitor workload {seed}", images, labels, count, Size, Size, ["a", "b", "c"]);
    }

    static void Scale(Tensor tensor, float factor)
    {
        var values = tensor.ToArray();
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
        tensor.Upload(values);
    }

    public void Dispose() => Network.Dispose();

    /// <summary>Batches of a dataset for a frame-budgeted trainer, epoch after epoch (allocation-free after the first).</summary>
    public sealed class Batches(ImageDataset dataset, int batchSize) : IBatchSource
    {
        readonly DataLoader loader = new(dataset, batchSize, shuffle: true, seed: 4, dropLast: true);
        int epoch = -1;

        public void FillBatch(ExecutionPlan plan, long step)
        {
            if (epoch < 0 || !loader.TryNextBatch())
            {
                loader.StartEpoch(++epoch);
                loader.TryNextBatch();
            }
            plan.Input.Upload(loader.Images);
            plan.Target!.Upload(loader.Targets);
        }
    }
}
