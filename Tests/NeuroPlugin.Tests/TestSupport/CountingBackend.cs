using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Tests.TestSupport;

/// <summary>Forwards every call to an inner backend and counts host transfers, to prove a step reads nothing back.</summary>
public sealed class CountingBackend(IBackend inner) : IBackend
{
    public int Downloads { get; private set; }
    public int Uploads { get; private set; }
    public string Name => inner.Name;
    public string DeviceName => inner.DeviceName;
    public Tensor Allocate(TensorShape shape, string name)
    {
        // the tensor must name this backend, so that Tensor.Download comes through here and is counted
        var storage = inner.Allocate(shape, name).Storage;
        return new Tensor(this, storage, shape, name, ownsStorage: true);
    }
    public void Upload(Tensor tensor, ReadOnlySpan<float> source) { Uploads++; inner.Upload(tensor, source); }
    public void Download(Tensor tensor, Span<float> destination) { Downloads++; inner.Download(tensor, destination); }
    public void Fill(Tensor tensor, float value) => inner.Fill(tensor, value);
    public void Copy(Tensor source, Tensor destination) => inner.Copy(source, destination);
    public void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output) => inner.LinearForward(input, weight, bias, output);
    public void LinearBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad) => inner.LinearBackward(input, weight, outputGrad, inputGrad, weightGrad, biasGrad);
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window) => inner.Conv2dForward(input, weight, bias, output, window);
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window) => inner.Conv2dBackward(input, weight, outputGrad, inputGrad, weightGrad, biasGrad, window);
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window) => inner.MaxPool2dForward(input, output, argmax, window);
    public void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window) => inner.MaxPool2dBackward(argmax, outputGrad, inputGrad, window);
    public void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad) => inner.AvgPool2dForward(input, output, window, countIncludePad);
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad) => inner.AvgPool2dBackward(outputGrad, inputGrad, window, countIncludePad);
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output) => inner.ActivationForward(kind, input, output);
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad) => inner.ActivationBackward(kind, input, output, outputGrad, inputGrad);
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor target, Tensor probabilities, Tensor loss) => inner.SoftmaxCrossEntropyForward(logits, target, probabilities, loss);
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor target, Tensor logitsGrad, float scale) => inner.SoftmaxCrossEntropyBackward(probabilities, target, logitsGrad, scale);
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum) => inner.SgdUpdate(parameter, gradient, velocity, learningRate, momentum);
    public void Dispose() => inner.Dispose();
}
