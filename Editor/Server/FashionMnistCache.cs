namespace NeuroPlugin.Editor.Server;

/// <summary>
/// Fashion-MNIST for one server's training runs and inspector, read once. Each run used to decode both files again
/// (55 MB of images, and the decompression's buffers besides), so back-to-back runs left a hundred megabytes of garbage
/// a second and the server's resident set swung by about 170 MB from run to run. The sets are shared, never written:
/// runs take subsets of them. A failed read is not kept, so a later run reads again (the files may have been installed
/// meanwhile) and fails with the same <see cref="DatasetException"/> or <see cref="IOException"/> if not.
/// </summary>
internal sealed class FashionMnistCache
{
    readonly object gate = new();
    ImageDataset? train, test;

    /// <summary>The 60,000 training images (<see cref="FashionMnist.LoadTrain"/>), read on first use.</summary>
    public ImageDataset Train { get { lock (gate) return train ??= FashionMnist.LoadTrain(); } }

    /// <summary>The 10,000 test images (<see cref="FashionMnist.LoadTest"/>), read on first use.</summary>
    public ImageDataset Test { get { lock (gate) return test ??= FashionMnist.LoadTest(); } }
}
