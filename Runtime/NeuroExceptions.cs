namespace NeuroPlugin;

/// <summary>
/// A GL call from a thread that does not hold the context: a GL context is current on one thread at a time, and every
/// object of a <see cref="Backends.OpenGL.GLDevice"/> (a <see cref="NeuroModel"/> on a GL device included) may only be
/// used from that thread. Call from the thread that created the device (for the game's context, the render thread), or
/// hand a headless context over with <see cref="Backends.OpenGL.GLDevice.ReleaseCurrent"/> and
/// <see cref="Backends.OpenGL.GLDevice.MakeCurrent"/>. Nothing ran.
/// </summary>
public sealed class WrongThreadException(string message, int ownerThreadId, int callingThreadId) : InvalidOperationException(message)
{
    /// <summary>The managed thread that holds the context, or −1 when none does.</summary>
    public int OwnerThreadId { get; } = ownerThreadId;
    /// <summary>The managed thread that made the call.</summary>
    public int CallingThreadId { get; } = callingThreadId;
}

/// <summary>
/// The GL context a model runs on is gone: the game destroyed or released it (no context, or another one, is current on
/// the thread), the driver reset it (a GPU reset or a removed device: <c>glGetGraphicsResetStatus</c>), or its
/// <see cref="Backends.OpenGL.GLDevice"/> was disposed. Every GPU object of the model went with it: dispose the model
/// and load it again on a live context. Nothing ran.
/// </summary>
public sealed class ContextLostException(string message) : InvalidOperationException(message);

/// <summary>
/// An input that does not fit the model: a float span whose length is not a whole number of items, more items than the
/// result holds, or an image, pixels or a texture for a model whose input is not an image. The message and the two
/// properties name both shapes, e.g. <c>model input (N,1,28,28) with N ≤ 1, got 700 floats</c>.
/// </summary>
public sealed class InputShapeException(string message, string expected, string actual) : ShapeException(message)
{
    /// <summary>What the model takes, e.g. <c>(N,1,28,28), N ≤ 4</c>.</summary>
    public string Expected { get; } = expected;
    /// <summary>What it was given, e.g. <c>(700) floats</c> or <c>texture 7: GL_TEXTURE_2D GL_RGBA8 640×480</c>.</summary>
    public string Actual { get; } = actual;
}
