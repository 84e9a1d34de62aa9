namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// A LeNet-5 training step written straight against <see cref="IBackend"/> (no graph code), for the
/// allocation and throughput tests: conv 1→6 5×5 pad 2, ReLU, max pool 2, conv 6→16 5×5, ReLU, max pool 2,
/// linear 400→120→84→10 with ReLU, softmax cross-entropy, SGD. Input (N,1,28,28).
/// </summary>
sealed class LeNetWorkload : IDisposable
{
    static readonly Window2d Conv1 = Window2d.Square(5, 1, 2), Conv2 = Window2d.Square(5), Pool = Window2d.Square(2, 2);

    readonly IBackend backend;
    readonly List<Tensor> tensors = new();
    readonly Tensor x, target, c1w, c1b, c1, r1, p1, a1, c2w, c2b, c2, r2, p2, a2, flat,
        f1w, f1b, f1, g1, f2w, f2b, f2, g2, f3w, f3b, logits, probabilities, loss;
    readonly Tensor dc1w, dc1b, dc1, dr1, dp1, dc2w, dc2b, dc2, dr2, dp2, dflat, df1w, df1b, df1, dg1, df2w, df2b, df2, dg2, df3w, df3b, dlogits;
    readonly (Tensor Parameter, Tensor Gradient)[] parameters;

    public LeNetWorkload(IBackend backend, int batch, int seed)
    {
        this.backend = backend;
        Batch = batch;
        var random = new Random(seed);
        Tensor New(string name, params int[] dims) { var t = backend.Allocate(TensorShape.Of(dims), name); tensors.Add(t); return t; }
        Tensor Init(string name, double scale, params int[] dims)
        {
            var t = New(name, dims);
            var values = new float[t.Length];
            for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            t.Upload(values);
            return t;
        }
        x = Init("x", 1, batch, 1, 28, 28);
        target = New("target", batch, 10);
        var oneHot = new float[batch * 10];
        for (int n = 0; n < batch; n++) oneHot[n * 10 + random.Next(10)] = 1;
        target.Upload(oneHot);
        c1w = Init("conv1.weight", 0.2, 6, 1, 5, 5); c1b = Init("conv1.bias", 0.1, 6);
        c1 = New("conv1", batch, 6, 28, 28); r1 = New("relu1", batch, 6, 28, 28);
        p1 = New("pool1", batch, 6, 14, 14); a1 = New("pool1.argmax", batch, 6, 14, 14);
        c2w = Init("conv2.weight", 0.08, 16, 6, 5, 5); c2b = Init("conv2.bias", 0.1, 16);
        c2 = New("conv2", batch, 16, 10, 10); r2 = New("relu2", batch, 16, 10, 10);
        p2 = New("pool2", batch, 16, 5, 5); a2 = New("pool2.argmax", batch, 16, 5, 5);
        flat = p2.Reshape(new TensorShape(batch, 400), "flatten"); tensors.Add(flat);
        f1w = Init("fc1.weight", 0.05, 120, 400); f1b = Init("fc1.bias", 0.05, 120); f1 = New("fc1", batch, 120); g1 = New("relu3", batch, 120);
        f2w = Init("fc2.weight", 0.09, 84, 120); f2b = Init("fc2.bias", 0.05, 84); f2 = New("fc2", batch, 84); g2 = New("relu4", batch, 84);
        f3w = Init("fc3.weight", 0.1, 10, 84); f3b = Init("fc3.bias", 0.05, 10); logits = New("fc3", batch, 10);
        probabilities = New("probabilities", batch, 10); loss = New("loss", 1);

        dc1w = New("d.conv1.weight", 6, 1, 5, 5); dc1b = New("d.conv1.bias", 6); dc1 = New("d.conv1", batch, 6, 28, 28);
        dr1 = New("d.relu1", batch, 6, 28, 28); dp1 = New("d.pool1", batch, 6, 14, 14);
        dc2w = New("d.conv2.weight", 16, 6, 5, 5); dc2b = New("d.conv2.bias", 16); dc2 = New("d.conv2", batch, 16, 10, 10);
        dr2 = New("d.relu2", batch, 16, 10, 10); dp2 = New("d.pool2", batch, 16, 5, 5);
        dflat = dp2.Reshape(new TensorShape(batch, 400), "d.flatten"); tensors.Add(dflat);
        df1w = New("d.fc1.weight", 120, 400); df1b = New("d.fc1.bias", 120); df1 = New("d.fc1", batch, 120); dg1 = New("d.relu3", batch, 120);
        df2w = New("d.fc2.weight", 84, 120); df2b = New("d.fc2.bias", 84); df2 = New("d.fc2", batch, 84); dg2 = New("d.relu4", batch, 84);
        df3w = New("d.fc3.weight", 10, 84); df3b = New("d.fc3.bias", 10); dlogits = New("d.fc3", batch, 10);
        parameters = [(c1w, dc1w), (c1b, dc1b), (c2w, dc2w), (c2b, dc2b), (f1w, df1w), (f1b, df1b), (f2w, df2w), (f2b, df2b), (f3w, df3w), (f3b, df3b)];
    }

    public int Batch { get; }
    public Tensor Loss => loss;
    public Tensor Input => x;

    public void Forward()
    {
        backend.Conv2dForward(x, c1w, c1b, c1, Conv1);
        backend.ActivationForward(ActivationKind.ReLU, c1, r1);
        backend.MaxPool2dForward(r1, p1, a1, Pool);
        backend.Conv2dForward(p1, c2w, c2b, c2, Conv2);
        backend.ActivationForward(ActivationKind.ReLU, c2, r2);
        backend.MaxPool2dForward(r2, p2, a2, Pool);
        backend.LinearForward(flat, f1w, f1b, f1);
        backend.ActivationForward(ActivationKind.ReLU, f1, g1);
        backend.LinearForward(g1, f2w, f2b, f2);
        backend.ActivationForward(ActivationKind.ReLU, f2, g2);
        backend.LinearForward(g2, f3w, f3b, logits);
        backend.SoftmaxCrossEntropyForward(logits, target, probabilities, loss);
    }

    /// <summary>Zeroes the gradients, runs forward and backward, and takes an SGD step.</summary>
    public void TrainStep(float learningRate)
    {
        ZeroGradients();
        Forward();
        backend.SoftmaxCrossEntropyBackward(probabilities, target, dlogits, 1f);
        backend.LinearBackward(g2, f3w, dlogits, dg2, df3w, df3b);
        backend.ActivationBackward(ActivationKind.ReLU, f2, g2, dg2, df2);
        backend.LinearBackward(g1, f2w, df2, dg1, df2w, df2b);
        backend.ActivationBackward(ActivationKind.ReLU, f1, g1, dg1, df1);
        backend.LinearBackward(flat, f1w, df1, dflat, df1w, df1b);
        backend.MaxPool2dBackward(a2, dp2, dr2, Pool);
        backend.ActivationBackward(ActivationKind.ReLU, c2, r2, dr2, dc2);
        backend.Conv2dBackward(p1, c2w, dc2, dp1, dc2w, dc2b, Conv2);
        backend.MaxPool2dBackward(a1, dp1, dr1, Pool);
        backend.ActivationBackward(ActivationKind.ReLU, c1, r1, dr1, dc1);
        backend.Conv2dBackward(x, c1w, dc1, null, dc1w, dc1b, Conv1);
        foreach (var (parameter, gradient) in parameters) backend.SgdUpdate(parameter, gradient, null, learningRate, 0f);
    }

    void ZeroGradients()
    {
        backend.Fill(dc1w, 0); backend.Fill(dc1b, 0); backend.Fill(dc1, 0); backend.Fill(dr1, 0); backend.Fill(dp1, 0);
        backend.Fill(dc2w, 0); backend.Fill(dc2b, 0); backend.Fill(dc2, 0); backend.Fill(dr2, 0); backend.Fill(dp2, 0);
        backend.Fill(df1w, 0); backend.Fill(df1b, 0); backend.Fill(df1, 0); backend.Fill(dg1, 0);
        backend.Fill(df2w, 0); backend.Fill(df2b, 0); backend.Fill(df2, 0); backend.Fill(dg2, 0);
        backend.Fill(df3w, 0); backend.Fill(df3b, 0); backend.Fill(dlogits, 0);
    }

    public void Dispose()
    {
        foreach (var t in tensors) t.Dispose();
    }
}
