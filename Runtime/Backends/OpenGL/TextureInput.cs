using NeuroPlugin.Data;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>What <see cref="TextureInput.Describe"/> found out about a GL texture: target, level-0 internal format and size.</summary>
public readonly record struct TextureDescription(uint Texture, GLEnum Target, GLEnum InternalFormat, int Width, int Height)
{
    /// <summary>"texture 7: GL_TEXTURE_2D GL_RGBA8 640×480".</summary>
    public override string ToString() => $"texture {Texture}: {TextureInput.FormatName(Target)} {TextureInput.FormatName(InternalFormat)} {Width}×{Height}";
}

/// <summary>
/// Textures in: a game's GL texture (a render target, or an image it uploaded) becomes one sample of a network
/// input tensor on the <see cref="GLBackend"/>, by a compute shader (<c>Shaders/texture_input.comp</c>), with no CPU
/// readback. The math is <see cref="ImageInputTransform"/>'s (rows flipped for a bottom-up texture, resize, channel
/// order, <c>(Scale·v − Mean[c]) / Std[c]</c>), and its CPU path is the reference this is tested against.
/// <para>The texture must be a <c>GL_TEXTURE_2D</c> whose level 0 is <c>GL_RGBA8</c>, <c>GL_RGBA16F</c> or
/// <c>GL_RGBA32F</c>; it is read with <c>texelFetch</c> through a nearest, clamp-to-edge <see cref="GLSampler"/>, so its
/// own filter and mipmap state do not matter. During <see cref="CopyToTensor"/> the texture and the sampler are bound to
/// <see cref="TextureUnit"/>; both are unbound afterwards (the host's binding on that unit is not restored).
/// Texels written by the host with image stores are made visible first (<c>GL_TEXTURE_FETCH_BARRIER_BIT</c>); rendering
/// into the texture through a framebuffer needs nothing.</para>
/// Allocates nothing per call after the first (which compiles the kernel). All calls on the device's owner thread.
/// </summary>
public sealed class TextureInput : IDisposable
{
    readonly GLSampler sampler;
    ComputeProgram? program;
    bool disposed;

    /// <summary>A texture input on <paramref name="backend"/> with <paramref name="transform"/>, binding texture unit
    /// <paramref name="textureUnit"/> while it runs.</summary>
    public TextureInput(GLBackend backend, ImageInputTransform transform, int textureUnit = 0)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(transform);
        backend.Device.EnsureThread();
        int units = backend.Device.GL.GetInteger(GetPName.MaxCombinedTextureImageUnits);
        if ((uint)textureUnit >= (uint)units)
            throw new ArgumentOutOfRangeException(nameof(textureUnit), $"textureUnit {textureUnit} is outside the driver's {units} texture units");
        Backend = backend;
        Transform = transform;
        TextureUnit = textureUnit;
        sampler = new GLSampler(backend.Device);
    }

    /// <summary>The backend whose tensors receive the samples.</summary>
    public GLBackend Backend { get; }
    /// <summary>The math from texels to tensor values.</summary>
    public ImageInputTransform Transform { get; }
    /// <summary>The texture unit bound during <see cref="CopyToTensor"/>.</summary>
    public int TextureUnit { get; }

    /// <summary>
    /// Writes sample <paramref name="batchIndex"/> of <paramref name="destination"/> (N,C,H,W), C =
    /// <see cref="ImageInputTransform.ChannelCount"/>, from level 0 of <paramref name="texture"/>, resized to (H,W).
    /// <paramref name="rows"/> says how the texture's rows run: <see cref="RowOrder.BottomUp"/> (the default) for what GL
    /// rendered, <see cref="RowOrder.TopDown"/> for an image uploaded top row first. Queues GPU work; does not wait.
    /// </summary>
    /// <exception cref="ArgumentException">The texture is not a texture name, not <c>GL_TEXTURE_2D</c>, has an unsupported
    /// internal format, or no level-0 image; the message names the texture and the field (target, internal format, width, height).</exception>
    /// <exception cref="ShapeException">The destination is not (N,C,H,W) with this transform's C.</exception>
    /// <exception cref="ArgumentOutOfRangeException">batchIndex is outside [0, N).</exception>
    public void CopyToTensor(uint texture, Tensor destination, int batchIndex, RowOrder rows = RowOrder.BottomUp)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Transform.CheckDestination(destination, batchIndex);
        var description = Check(Backend.Device, texture);
        var gl = Backend.Device.GL;
        var kernel = program ??= Backend.Shaders.Get("texture_input.comp", Transform.Resize == ResizeMode.Bilinear ? "BILINEAR" : "AREA");
        var shape = destination.Shape;
        kernel.SetUniform("source", TextureUnit);
        kernel.SetUniform("sourceSize", description.Width, description.Height);
        kernel.SetUniform("outputShape", shape.N, shape.C, shape.H, shape.W);
        kernel.SetUniform("batchIndex", batchIndex);
        kernel.SetUniform("bottomUp", rows == RowOrder.BottomUp ? 1 : 0);
        kernel.SetUniform("channels", (int)Transform.Channels);
        kernel.SetUniform("scale", Transform.Scale);
        var (mean, std) = (Transform.Mean, Transform.Std);
        int last = Transform.ChannelCount - 1;
        gl.ProgramUniform3(kernel.Handle, kernel.UniformLocation("mean"), mean[0], mean[Math.Min(1, last)], mean[last]);
        gl.ProgramUniform3(kernel.Handle, kernel.UniformLocation("std"), std[0], std[Math.Min(1, last)], std[last]);
        Backend.BindTensor(StorageBinding.Output0, destination);
        gl.MemoryBarrier(MemoryBarrierMask.TextureFetchBarrierBit);
        gl.BindTextureUnit((uint)TextureUnit, texture);
        gl.BindSampler((uint)TextureUnit, sampler.Handle);
        // An area window averages about (W/OW + 1)·(H/OH + 1) texels; bilinear reads 4.
        long cost = Transform.Resize == ResizeMode.Bilinear ? 4
            : (long)(description.Width / shape.W + 1) * (description.Height / shape.H + 1);
        try
        {
            kernel.Dispatch(shape.H * shape.W, 1, cost);
        }
        finally
        {
            gl.BindSampler((uint)TextureUnit, 0);
            gl.BindTextureUnit((uint)TextureUnit, 0);
        }
    }

    /// <summary>Queries a texture's target, level-0 internal format and size (GL state queries, no GPU wait).</summary>
    /// <exception cref="ArgumentException"><paramref name="texture"/> is not the name of a texture object.</exception>
    public static TextureDescription Describe(GLDevice device, uint texture)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.EnsureThread();
        var gl = device.GL;
        if (texture == 0 || !gl.IsTexture(texture))
            throw new ArgumentException($"texture {texture} is not the name of an OpenGL texture object on this context", nameof(texture));
        gl.GetTextureParameter(texture, GLEnum.TextureTarget, out int target);
        gl.GetTextureLevelParameter(texture, 0, GLEnum.TextureInternalFormat, out int format);
        gl.GetTextureLevelParameter(texture, 0, GLEnum.TextureWidth, out int width);
        gl.GetTextureLevelParameter(texture, 0, GLEnum.TextureHeight, out int height);
        return new TextureDescription(texture, (GLEnum)target, (GLEnum)format, width, height);
    }

    static TextureDescription Check(GLDevice device, uint texture)
    {
        var description = Describe(device, texture);
        if (description.Target != GLEnum.Texture2D)
            throw new ArgumentException($"texture {texture}: target is {FormatName(description.Target)}, TextureInput reads GL_TEXTURE_2D", nameof(texture));
        if (description.Width <= 0 || description.Height <= 0)
            throw new ArgumentException($"texture {texture}: level 0 has width {description.Width} and height {description.Height} (no image: allocate it with glTextureStorage2D)", nameof(texture));
        // some drivers report a glTexImage2D texture made with the unsized GL_RGBA as GL_RGBA: sampled like GL_RGBA8
        if (description.InternalFormat is not (GLEnum.Rgba8 or GLEnum.Rgba or GLEnum.Rgba16f or GLEnum.Rgba32f))
            throw new ArgumentException($"texture {texture}: internal format is {FormatName(description.InternalFormat)}, TextureInput reads GL_RGBA8 (or unsized GL_RGBA), GL_RGBA16F or GL_RGBA32F", nameof(texture));
        return description;
    }

    /// <summary>"GL_TEXTURE_2D", "GL_RGBA8" and the like for the enums in messages; others as hex.</summary>
    internal static string FormatName(GLEnum value) => value switch
    {
        GLEnum.Texture1D => "GL_TEXTURE_1D",
        GLEnum.Texture2D => "GL_TEXTURE_2D",
        GLEnum.Texture3D => "GL_TEXTURE_3D",
        GLEnum.Texture1DArray => "GL_TEXTURE_1D_ARRAY",
        GLEnum.Texture2DArray => "GL_TEXTURE_2D_ARRAY",
        GLEnum.TextureRectangle => "GL_TEXTURE_RECTANGLE",
        GLEnum.TextureCubeMap => "GL_TEXTURE_CUBE_MAP",
        GLEnum.TextureCubeMapArray => "GL_TEXTURE_CUBE_MAP_ARRAY",
        GLEnum.Texture2DMultisample => "GL_TEXTURE_2D_MULTISAMPLE",
        GLEnum.TextureBuffer => "GL_TEXTURE_BUFFER",
        GLEnum.Rgba8 => "GL_RGBA8",
        GLEnum.Rgba => "GL_RGBA",
        GLEnum.Rgba16f => "GL_RGBA16F",
        GLEnum.Rgba32f => "GL_RGBA32F",
        GLEnum.Rgb8 => "GL_RGB8",
        GLEnum.Srgb8Alpha8 => "GL_SRGB8_ALPHA8",
        GLEnum.R8 => "GL_R8",
        GLEnum.R32f => "GL_R32F",
        GLEnum.Rgba8ui => "GL_RGBA8UI",
        GLEnum.DepthComponent24 => "GL_DEPTH_COMPONENT24",
        GLEnum.DepthComponent32f => "GL_DEPTH_COMPONENT32F",
        _ => $"0x{(int)value:X4}",
    };

    /// <summary>Deletes the sampler (the kernel belongs to the backend's shader cache). Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        sampler.Dispose();
    }
}
