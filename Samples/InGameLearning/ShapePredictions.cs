namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>A prediction that came back from the GPU: the frame it was made for, the shape it was about (and its true
/// kind, which the game knew), and what the network said.</summary>
public readonly record struct ShapePrediction(int Frame, int ShapeId, ShapeKind Truth, ShapeKind Predicted)
{
    public bool Correct => Predicted == Truth;
}

/// <summary>
/// The player's predictions on their way back from the GPU, through the game-facing API: <see cref="Slots"/> reusable
/// <see cref="Prediction"/>s of the learner's <see cref="NeuroModel"/> (made once, so predicting allocates nothing) and
/// what each was asked about. <see cref="TryStart"/> queues the network on the frame the learner observed and the copy of
/// its 4 logits (<see cref="NeuroModel.Start(Tensors.Tensor, Prediction)"/>), or skips the frame when every slot is still
/// in flight: the GPU is behind, and the game would rather miss a prediction than stall. <see cref="TryTake"/> hands
/// back the oldest prediction whose values have arrived, usually a frame later, without waiting.
/// </summary>
public sealed class ShapePredictions
{
    /// <summary>Predictions that may be in flight at once (the model's <see cref="NeuroModelOptions.MaxInFlight"/>).</summary>
    public const int Slots = 4;

    readonly NeuroModel model;
    readonly Prediction[] results = new Prediction[Slots];
    readonly (int Frame, int ShapeId, ShapeKind Truth)[] about = new (int, int, ShapeKind)[Slots];
    readonly bool[] asked = new bool[Slots]; // a start went out and its result has not been taken yet

    /// <summary>Results of <paramref name="model"/> (loaded or created with <see cref="Slots"/> in flight at most).</summary>
    public ShapePredictions(NeuroModel model)
    {
        this.model = model;
        for (int s = 0; s < Slots; s++) results[s] = model.CreatePrediction();
    }

    /// <summary>Starts predicting <paramref name="input"/> (the frame as the network sees it, on the device) for
    /// <paramref name="shape"/> seen at <paramref name="frame"/>. False, and nothing done, when every slot is in flight.</summary>
    public bool TryStart(Tensors.Tensor input, int frame, Shape shape)
    {
        for (int s = 0; s < Slots; s++)
        {
            if (asked[s]) continue;
            _ = model.Start(input, results[s]); // completes at a later Poll; the result slot is what we read
            about[s] = (frame, shape.Id, shape.Kind);
            asked[s] = true;
            return true;
        }
        return false;
    }

    /// <summary>The oldest prediction whose values have arrived, if any (polls the model; never waits).</summary>
    public bool TryTake(out ShapePrediction prediction)
    {
        prediction = default;
        model.Poll();
        int oldest = -1;
        for (int s = 0; s < Slots; s++)
            if (asked[s] && !results[s].IsPending && (oldest < 0 || about[s].Frame < about[oldest].Frame)) oldest = s;
        if (oldest < 0) return false;
        asked[oldest] = false;
        var (frame, shapeId, truth) = about[oldest];
        prediction = new ShapePrediction(frame, shapeId, truth, (ShapeKind)results[oldest].Best().Index);
        return true;
    }
}
