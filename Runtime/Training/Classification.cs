using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Training;

/// <summary>Reading a classifier's logits: the predicted class of one row, and the accuracy of a network on a dataset.</summary>
public static class Classification
{
    /// <summary>The predicted class of one row of logits (K): the index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>Fraction of <paramref name="dataset"/> classified correctly (<see cref="ArgMax"/> of the output), in eval
    /// mode: an inference plan, so batch norm uses its running statistics, dropout is off, and the batch size cannot matter.</summary>
    public static double Accuracy(Network network, ImageDataset dataset, int batchSize = 500)
    {
        using var inference = ExecutionPlan.ForInference(network, batchSize);
        var loader = new DataLoader(dataset, batchSize, shuffle: false);
        var logits = new float[inference.Output.Length];
        int classes = inference.Output.Shape[1];
        long correct = 0;
        loader.StartEpoch(0);
        while (loader.TryNextBatch())
        {
            inference.Input.Upload(loader.Images);
            inference.Forward();
            inference.Output.Download(logits);
            for (int n = 0; n < loader.Count; n++)
                if (ArgMax(logits.AsSpan(n * classes, classes)) == loader.Labels[n]) correct++;
        }
        return (double)correct / dataset.Count;
    }
}
