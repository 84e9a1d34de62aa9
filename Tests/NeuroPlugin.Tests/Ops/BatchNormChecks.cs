namespace NeuroPlugin.Tests.Ops;

/// <summary>Batch-norm checks shared by the CPU and GL fixtures: PyTorch golden files (Tests/Golden/gen_normalization.py).</summary>
static class BatchNormChecks
{
    /// <summary>Golden cases: 1d and 2d, default and other ε/momentum, N = 1 with H·W &gt; 1, odd channel counts,
    /// inputs with a large mean offset.</summary>
    public static readonly string[] GoldenFiles = GoldenFile.Named("batchnorm*");

    /// <summary>One training step then one eval pass on <paramref name="backend"/>, compared with PyTorch's
    /// outputs, gradients and running statistics (1e-4 relative).</summary>
    public static void MatchesPyTorch(IBackend backend, string file)
    {
        var golden = GoldenFile.Load(file);
        float eps = (float)golden.Attributes.GetProperty("eps").GetDouble();
        float momentum = (float)golden.Attributes.GetProperty("momentum").GetDouble();
        var owned = new List<Tensor>();
        Tensor Make(string key, TensorShape shape, float fill = 0f)
        {
            var tensor = backend.Allocate(shape, key);
            owned.Add(tensor);
            if (golden.Contains(key)) tensor.Upload(golden.Data(key));
            else backend.Fill(tensor, fill);
            return tensor;
        }
        try
        {
            var shape = TensorShape.Of(golden.Shape("x"));
            var channels = new TensorShape(shape[1]);
            Tensor x = Make("x", shape), weight = Make("weight", channels), bias = Make("bias", channels), dy = Make("dy", shape);
            Tensor runningMean = Make("running_mean_before", channels), runningVar = Make("running_var_before", channels);
            Tensor saveMean = Make("save_mean", channels, 99f), saveInvStd = Make("save_inv_std", channels, 99f);
            foreach (string mode in new[] { "", "eval_" })
            {
                bool training = mode == "";
                // outputs start as garbage (must be overwritten), gradients at zero (backward adds)
                Tensor y = Make("out_y", shape, 123f), dx = Make("out_dx", shape), dWeight = Make("out_dw", channels), dBias = Make("out_db", channels);
                backend.BatchNormForward(x, weight, bias, runningMean, runningVar, saveMean, saveInvStd, y, training, momentum, eps);
                backend.BatchNormBackward(x, weight, saveMean, saveInvStd, dy, dx, dWeight, dBias, training);
                string what = $"{file} {(training ? "training" : "eval")} on {backend.Name}";
                TensorAssert.AreClose(golden.Data(mode + "y"), y.ToArray(), 1e-4, $"{what}: y");
                TensorAssert.AreClose(golden.Data(mode + "dx"), dx.ToArray(), 1e-4, $"{what}: dx");
                TensorAssert.AreClose(golden.Data(mode + "dweight"), dWeight.ToArray(), 1e-4, $"{what}: dweight");
                TensorAssert.AreClose(golden.Data(mode + "dbias"), dBias.ToArray(), 1e-4, $"{what}: dbias");
                // training updates the running statistics (unbiased variance); eval leaves them as they are
                TensorAssert.AreClose(golden.Data("running_mean"), runningMean.ToArray(), 1e-4, $"{what}: running_mean");
                TensorAssert.AreClose(golden.Data("running_var"), runningVar.ToArray(), 1e-4, $"{what}: running_var");
            }
        }
        finally
        {
            foreach (var tensor in owned) tensor.Dispose();
        }
    }
}
