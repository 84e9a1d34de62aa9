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
        return Evaluate(inference, dataset).Accuracy;
    }

    /// <summary>Mean cross-entropy and the fraction classified correctly (<see cref="ArgMax"/>) of <paramref name="dataset"/>,
    /// run in order through <paramref name="inference"/> (an inference plan, eval mode, whose output is the logits (N,K)).
    /// The loss of an item is computed on the host from its downloaded logits z: <c>log Σ exp(z) − z[label]</c>.</summary>
    public static (double Loss, double Accuracy) Evaluate(ExecutionPlan inference, ImageDataset dataset)
    {
        var loader = new DataLoader(dataset, inference.BatchSize, shuffle: false);
        var logits = new float[inference.Output.Length];
        int classes = inference.Output.Shape[1];
        double lossSum = 0;
        long correct = 0;
        loader.StartEpoch(0);
        while (loader.TryNextBatch())
        {
            inference.Input.Upload(loader.Images);
            inference.Forward();
            inference.Output.Download(logits);
            for (int n = 0; n < loader.Count; n++)
            {
                var row = logits.AsSpan(n * classes, classes);
                if (ArgMax(row) == loader.Labels[n]) correct++;
                lossSum += CrossEntropy(row, loader.Labels[n]);
            }
        }
        return (lossSum / dataset.Count, (double)correct / dataset.Count);
    }

    /// <summary><c>log Σ exp(z) − z[label]</c>, shifted by max z so that exp cannot overflow.</summary>
    static double CrossEntropy(ReadOnlySpan<float> z, int label)
    {
        double max = double.NegativeInfinity;
        foreach (float v in z) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in z) sum += Math.Exp(v - max);
        return max + Math.Log(sum) - z[label];
    }
}
