using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Serialization;

namespace NeuroPlugin;

/// <summary>Examples in (floats, pixels, textures) and the learner's files out and back (checkpoints, the model).</summary>
public sealed partial class OnlineLearner
{
    // ───────────────────────────── examples ─────────────────────────────

    /// <summary>Adds one example: <paramref name="input"/>, the network's input values as they are (C·H·W floats, already
    /// normalized), of class <paramref name="label"/>. Uploads it and copies it into the replay buffer on the device.</summary>
    /// <exception cref="InputShapeException">The input is not one item of the model's input (names both shapes).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The label is not one of the model's classes.</exception>
    public void Add(ReadOnlySpan<float> input, int label)
    {
        EnsureUsable();
        CheckLabel(label);
        if (input.Length != Model.InputLength) throw ExampleMismatch($"({input.Length}) floats");
        example.Upload(input);
        observed = true;
        replay.Append(example, 0, label);
    }

    /// <summary>Adds one image of <paramref name="width"/>×<paramref name="height"/> RGBA8 pixels (rows of
    /// <paramref name="width"/> pixels without padding) of class <paramref name="label"/>, resized and normalized by the
    /// model's preprocessing (<see cref="NeuroModel.ImagePreprocessing"/>, on the CPU) as a prediction would be.</summary>
    /// <exception cref="InputShapeException">The model does not take images, or the bytes are not one such image.</exception>
    /// <exception cref="InvalidOperationException">The model's metadata does not say how to normalize its inputs.</exception>
    public void AddPixels(ReadOnlySpan<byte> rgba, int width, int height, int label, RowOrder rows = RowOrder.TopDown)
    {
        EnsureUsable();
        CheckLabel(label);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var transform = Model.ImagePreprocessing ?? throw Model.CannotTakeImages($"{width}×{height} RGBA pixels");
        if (rgba.Length != 4L * width * height)
            throw ExampleMismatch($"{rgba.Length} bytes for one {width}×{height} RGBA8 image of {4L * width * height}");
        var shape = Model.Input.ItemShape;
        transform.CopyToTensor(rgba, width, height, rows, exampleValues, shape[1], shape[2]);
        example.Upload(exampleValues);
        observed = true;
        replay.Append(example, 0, label);
    }

    /// <summary>Adds a GL texture (<c>GL_TEXTURE_2D</c>, RGBA8/16F/32F, rows bottom-up as GL renders unless told
    /// <see cref="RowOrder.TopDown"/>) of class <paramref name="label"/>: read, resized and normalized by a compute shader
    /// straight into the replay buffer's input, nothing crosses the bus. The same as <see cref="Observe"/> then
    /// <see cref="AddObservation"/>.</summary>
    /// <exception cref="InvalidOperationException">The learner does not run on a GL device.</exception>
    /// <exception cref="ArgumentException">The texture is not one the reader takes (names it and the field).</exception>
    public void AddTexture(uint texture, int label, RowOrder rows = RowOrder.BottomUp)
    {
        EnsureUsable();
        CheckLabel(label);
        ConvertTexture(texture, rows);
        replay.Append(example, 0, label);
    }

    /// <summary>The latest input the learner saw, as the network sees it: a (1, item shape) tensor on the device (one item of
    /// the model's input, after its preprocessing) that <see cref="Observe"/>, <see cref="AddTexture"/>, <see cref="Add"/>
    /// and <see cref="AddPixels"/> fill. Predict from it with <c>Model.Start(learner.Observation, result)</c> (the frame
    /// converted once, for the prediction and the example alike), or give it to a live link as its frame input for
    /// feature-map probes. Owned by the learner; it stays the same tensor until the learner is disposed.</summary>
    public Tensor Observation
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return example;
        }
    }

    /// <summary>Converts a GL texture (as <see cref="AddTexture"/> takes it) into <see cref="Observation"/> by the model's
    /// preprocessing on the GPU, without adding it: the frame as the network sees it, to predict from and probe, and to add
    /// with <see cref="AddObservation"/> once its label is known. Allocates nothing after the first call.</summary>
    /// <exception cref="InvalidOperationException">The learner does not run on a GL device.</exception>
    /// <exception cref="ArgumentException">The texture is not one the reader takes (names it and the field).</exception>
    public void Observe(uint texture, RowOrder rows = RowOrder.BottomUp)
    {
        EnsureUsable();
        ConvertTexture(texture, rows);
    }

    /// <summary>Adds <see cref="Observation"/> (the latest texture observed, or example added) as an example of class
    /// <paramref name="label"/>: a copy on the device into the replay buffer, no second conversion.</summary>
    /// <exception cref="InvalidOperationException">Nothing was observed or added yet.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The label is not one of the model's classes.</exception>
    public void AddObservation(int label)
    {
        EnsureUsable();
        CheckLabel(label);
        if (!observed) throw new InvalidOperationException("the learner has observed nothing yet: call Observe (or add an example) before AddObservation");
        replay.Append(example, 0, label);
    }

    /// <summary>The texture into <see cref="example"/> through the model's preprocessing, by <see cref="TextureInput"/>.</summary>
    void ConvertTexture(uint texture, RowOrder rows)
    {
        if (Backend is not GLBackend gl)
            throw new InvalidOperationException($"texture input needs a GL device; this learner runs on {Model.DeviceName}: create it with NeuroDevice.CurrentContext(gl)");
        var transform = Model.ImagePreprocessing ?? throw Model.CannotTakeImages($"texture {texture}");
        textures ??= new TextureInput(gl, transform);
        textures.CopyToTensor(texture, example, 0, rows);
        observed = true;
    }

    void CheckLabel(int label)
    {
        if ((uint)label >= (uint)Model.ClassCount)
            throw new ArgumentOutOfRangeException(nameof(label), label, $"label {label} is not one of the model's {Model.ClassCount} classes (0 … {Model.ClassCount - 1})");
    }

    InputShapeException ExampleMismatch(string actual)
    {
        string expected = $"({string.Join(",", Model.Input.ItemShape.ToArray())})";
        return new InputShapeException($"learner input {expected}, one example, got {actual}", expected, actual);
    }

    /// <summary>Forgets every example (the device memory is kept); the weights stay as they are.</summary>
    public void ClearExamples()
    {
        EnsureUsable();
        replay.Clear();
    }

    // ───────────────────────────── files ─────────────────────────────

    /// <summary>
    /// Saves a checkpoint to <paramref name="path"/> (conventionally <c>*.ckpt.neuro</c>): weights and batch-norm statistics,
    /// the optimizer's state, the step count, the dropout counter and the model's metadata. It first finishes a step in
    /// progress and reads the guard's report (a wait for the device), so the file holds whole, applied steps. Written to a
    /// temporary file beside it and renamed: a failed save leaves the previous file as it was. The replay buffer is not saved.
    /// </summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        EnsureUsable();
        trainer.Settle();
        AdoptRateSetOutside();
        var counters = new TrainingCounters(Steps, Epoch: 0, BatchInEpoch: 0, BatchSize, TotalSteps: 0, baseLearningRate, optimizer.LearningRate,
            schedule.Name, plan.Seed, plan.RandomCounter, optimizer.StepCount);
        TrainingCheckpoint.Save(path, Network, optimizer, counters, metadata: Model.Metadata);
    }

    /// <summary>Saves the current weights as a model file with the model's metadata (what <see cref="NeuroModel.Load(string, NeuroDevice?, NeuroModelOptions?)"/>
    /// and <c>neuro</c> read), atomically like <see cref="Save"/>. A step in progress is finished first.</summary>
    public void SaveModel(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        EnsureUsable();
        trainer.CompleteStep();
        ModelFile.Save(Network, path, Model.Metadata);
    }

    /// <summary>Restores a checkpoint into the new learner's plan and optimizer after checking that it was written with
    /// the same recipe (every mismatch a <see cref="ModelFileException"/> naming the field); returns its step count.</summary>
    long Restore(TrainingCheckpoint checkpoint)
    {
        var counters = checkpoint.Counters;
        if (counters.BaseLearningRate != baseLearningRate)
            throw new ModelFileException(checkpoint.Path, $"training.trainer.baseLearningRate is {counters.BaseLearningRate}, this learner's rate is {baseLearningRate}");
        if (counters.Schedule != schedule.Name)
            throw new ModelFileException(checkpoint.Path, $"training.trainer.schedule is \"{counters.Schedule}\", this learner's is \"{schedule.Name}\" (warmupSteps {Options.Training.WarmupSteps})");
        if (counters.Step > 0 && counters.LearningRate != baseLearningRate * schedule.Factor(counters.Step - 1, 0))
            throw new ModelFileException(checkpoint.Path, $"training.trainer.learningRate is {counters.LearningRate}, this learner's warm-up gives {baseLearningRate * schedule.Factor(counters.Step - 1, 0)} at step {counters.Step - 1}");
        checkpoint.Restore(plan, optimizer);
        return counters.Step;
    }
}
