using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// What every GL buffer wrapper shares: a label for messages (a tensor's name, or what the backend uses it for) and a
/// size, and its registration with validation mode (<see cref="GLDevice.Validation"/>), which tracks the buffer's
/// accesses from creation and, when it is released, overwrites it with <see cref="GLValidationOptions.NaNPattern"/>.
/// </summary>
public abstract class GLBufferObject : GLObject
{
    private protected GLBufferObject(GLDevice device, string label, long sizeInBytes) : base(device, GLObjectKind.Buffer)
    {
        Label = label;
        SizeInBytes = sizeInBytes;
    }

    /// <summary>What the buffer holds, for messages: the tensor's name for tensor storage.</summary>
    public string Label { get; }
    /// <summary>Size of the storage in bytes.</summary>
    public long SizeInBytes { get; }

    /// <summary>Registers the adopted buffer with validation mode; <paramref name="initialized"/> when its storage was
    /// given defined contents at creation.</summary>
    private protected void TrackCreation(bool initialized) => Device.Validator?.Tracker.Created(Handle, Label, initialized);

    /// <summary>Creation data in validation mode for storage that promises no contents: the NaN pattern, so a read of
    /// memory nobody wrote shows; null (zeros or undefined, as the caller chooses) otherwise.</summary>
    private protected static uint[]? PoisonFor(GLDevice device, long sizeInBytes)
    {
        if (device.Validator is null) return null;
        var words = new uint[checked((int)(sizeInBytes / sizeof(uint)))];
        Array.Fill(words, GLValidationOptions.NaNPattern);
        return words;
    }

    /// <summary>
    /// Creates the buffer with immutable storage that stays mapped for its whole life (<c>GL_MAP_PERSISTENT_BIT |
    /// GL_MAP_COHERENT_BIT</c> plus <paramref name="direction"/>, read or write), starting as the NaN pattern in
    /// validation mode, and returns the mapping. Deleting the buffer unmaps it.
    /// </summary>
    /// <exception cref="GLException">The driver refused the mapping; the message names <paramref name="what"/>.</exception>
    private protected unsafe void* CreatePersistentlyMapped(MapBufferAccessMask direction, string what)
    {
        var gl = Device.GL;
        Adopt(gl.CreateBuffer());
        var storage = BufferStorageMask.MapPersistentBit | BufferStorageMask.MapCoherentBit
            | (direction == MapBufferAccessMask.ReadBit ? BufferStorageMask.MapReadBit : BufferStorageMask.MapWriteBit);
        uint[]? poison = PoisonFor(Device, SizeInBytes);
        fixed (uint* words = poison)
            gl.NamedBufferStorage(Handle, (nuint)SizeInBytes, words, storage);
        void* mapped = gl.MapNamedBufferRange(Handle, 0, (nuint)SizeInBytes, direction | MapBufferAccessMask.PersistentBit | MapBufferAccessMask.CoherentBit);
        if (mapped == null)
        {
            var error = gl.GetError();
            Dispose();
            throw new GLException($"glMapNamedBufferRange of the {SizeInBytes / 1024} KiB persistent {what} failed on {Device.Renderer} ({error})");
        }
        TrackCreation(initialized: false);
        return mapped;
    }

    private protected override unsafe void OnDeleting(uint name)
    {
        if (Device.Validator is not { } validator) return;
        // released memory gets the NaN pattern, so a kernel still reading it (a use after release) shows NaN
        uint pattern = GLValidationOptions.NaNPattern;
        Device.GL.ClearNamedBufferData(name, SizedInternalFormat.R32ui, PixelFormat.RedInteger, PixelType.UnsignedInt, &pattern);
        validator.Tracker.Deleted(name);
    }
}
