using Silk.NET.OpenGL;

namespace NeuroPlugin.Tests.InGame;

/// <summary>
/// A GL texture the test makes as a game would: immutable storage filled by <c>glTextureSubImage2D</c>, or rendered
/// through a framebuffer by (scissored) clears. Deleted in Dispose (textures and framebuffers are the host's objects,
/// not counted by the device).
/// </summary>
sealed unsafe class TestTexture : IDisposable
{
    readonly GL gl;
    uint framebuffer;

    public TestTexture(GL gl, SizedInternalFormat format, int width, int height)
    {
        this.gl = gl;
        Width = width;
        Height = height;
        Name = gl.CreateTexture(TextureTarget.Texture2D);
        gl.TextureStorage2D(Name, 1, format, (uint)width, (uint)height);
    }

    public uint Name { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>Uploads RGBA8 rows as given (row 0 first, into texture row 0).</summary>
    public void Upload(byte[] pixels)
    {
        fixed (byte* data = pixels)
            gl.TextureSubImage2D(Name, 0, 0, 0, (uint)Width, (uint)Height, PixelFormat.Rgba, PixelType.UnsignedByte, data);
    }

    /// <summary>Clears the rectangle [x, x+w) × [y, y+h) in GL's window coordinates (y up from the bottom row) to a color,
    /// through a framebuffer with the texture as its color attachment: a render into the texture.</summary>
    public void Clear(int x, int y, int w, int h, float r, float g, float b, float a)
    {
        if (framebuffer == 0)
        {
            framebuffer = gl.CreateFramebuffer();
            gl.NamedFramebufferTexture(framebuffer, FramebufferAttachment.ColorAttachment0, Name, 0);
            var status = gl.CheckNamedFramebufferStatus(framebuffer, FramebufferTarget.Framebuffer);
            Assert.That(status, Is.EqualTo(GLEnum.FramebufferComplete), "framebuffer with the texture attached");
        }
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, framebuffer);
        gl.Enable(EnableCap.ScissorTest);
        gl.Scissor(x, y, (uint)w, (uint)h);
        float* color = stackalloc float[] { r, g, b, a };
        gl.ClearNamedFramebuffer(framebuffer, BufferKind.Color, 0, color);
        gl.Disable(EnableCap.ScissorTest);
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, 0);
    }

    public void Dispose()
    {
        if (framebuffer != 0) gl.DeleteFramebuffer(framebuffer);
        gl.DeleteTexture(Name);
    }
}

/// <summary>
/// Textures in on the GL backend: the kernel's tensor equals values computed independently in the test (uploaded
/// patterns, PyTorch golden files, a texture rendered by scissored clears, float render targets beyond [0,1]) and the
/// CPU path; bad textures and tensors raise errors naming the field; nothing is read back to do it.
/// </summary>
public sealed class TextureInputGLTests : GLFixture
{
    [TestCaseSource(typeof(TextureInputCpuTests), nameof(TextureInputCpuTests.GoldenCases))]
    public void UploadedTextureEqualsPyTorchAndTheCpuPath(string name)
    {
        var golden = GoldenFile.Load(name);
        var (transform, pixels, rows, width, height, outputHeight, outputWidth) = TextureInputCpuTests.FromGolden(golden);
        using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, width, height);
        texture.Upload(pixels);
        using var input = new TextureInput(Backend, transform);
        using var batch = Backend.Allocate(new TensorShape(3, transform.ChannelCount, outputHeight, outputWidth), "frames");
        long readbacks = Backend.ReadbackCount;
        input.CopyToTensor(texture.Name, batch, 1, rows);
        Assert.That(Backend.ReadbackCount, Is.EqualTo(readbacks), "no readback to bring a texture in");

        var values = batch.ToArray();
        int sampleLength = batch.Shape.ItemLength;
        var sample = values.AsSpan(sampleLength, sampleLength).ToArray();
        TextureInputCpuTests.AssertImagesClose(golden.Data("y"), sample, transform, 1f, $"{name}: GL vs PyTorch");
        var reference = new float[sampleLength];
        transform.CopyToTensor(pixels, width, height, rows, reference, outputHeight, outputWidth);
        TextureInputCpuTests.AssertImagesClose(reference, sample, transform, 1f, $"{name}: GL vs CPU path");
        Assert.That(values.AsSpan(0, sampleLength).ToArray().Concat(values.AsSpan(2 * sampleLength).ToArray()), Is.All.EqualTo(0f), "other samples untouched");
    }

    [TestCase(ResizeMode.Area, ChannelOrder.Rgb)]
    [TestCase(ResizeMode.Bilinear, ChannelOrder.Grayscale)]
    public void RenderedTextureIsReadBottomUp(ResizeMode resize, ChannelOrder channels)
    {
        // An 8×6 render target cleared to dark blue, with a scissored clear of orange over x ∈ [2,6), GL y ∈ [1,4)
        // (GL counts rows from the bottom): image rows 6−1−y, i.e. rows 2..4 from the top.
        const int width = 8, height = 6;
        using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba8, width, height);
        texture.Clear(0, 0, width, height, 0f, 0f, 0.4f, 1f);
        texture.Clear(2, 1, 4, 3, 1f, 0.6f, 0f, 1f);
        var transform = new ImageInputTransform(channels, resize, 1f, [0.5f], [0.25f]);
        using var input = new TextureInput(Backend, transform);
        using var batch = Backend.Allocate(new TensorShape(1, transform.ChannelCount, height, width), "frame");
        input.CopyToTensor(texture.Name, batch, 0);
        var values = batch.ToArray();

        // 0.4 and 0.6 are stored as the nearest of 256 levels: 102/255 and 153/255.
        double[] background = [0, 0, 102 / 255.0], box = [1, 153 / 255.0, 0];
        int plane = width * height;
        for (int row = 0; row < height; row++)
            for (int x = 0; x < width; x++)
            {
                bool inside = x >= 2 && x < 6 && row >= 2 && row <= 4;
                var rgb = inside ? box : background;
                if (channels == ChannelOrder.Grayscale)
                    Assert.That(values[row * width + x], Is.EqualTo((0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] - 0.5) / 0.25).Within(1e-5), $"({row},{x})");
                else
                    for (int c = 0; c < 3; c++)
                        Assert.That(values[c * plane + row * width + x], Is.EqualTo((rgb[c] - 0.5) / 0.25).Within(1e-5), $"channel {c} at ({row},{x})");
            }
    }

    [TestCase(SizedInternalFormat.Rgba16f)]
    [TestCase(SizedInternalFormat.Rgba32f)]
    public void FloatRenderTargetsKeepValuesOutsideZeroToOne(SizedInternalFormat format)
    {
        // 4×4 target: left half (2.5, −0.5, 0.25), right half (0.75, 4, −2), values exact in half floats. Area-halved to
        // 2×2, each output is one half's color; then the CPU float path on the same texels agrees.
        using var texture = new TestTexture(Device.GL, format, 4, 4);
        texture.Clear(0, 0, 2, 4, 2.5f, -0.5f, 0.25f, 1f);
        texture.Clear(2, 0, 2, 4, 0.75f, 4f, -2f, 1f);
        var transform = new ImageInputTransform(ChannelOrder.Bgr, ResizeMode.Area, 2f, [1f], [0.5f]);
        using var input = new TextureInput(Backend, transform);
        using var batch = Backend.Allocate(new TensorShape(1, 3, 2, 2), "hdr");
        input.CopyToTensor(texture.Name, batch, 0);
        var values = batch.ToArray();
        float[] left = [0.25f, -0.5f, 2.5f], right = [-2f, 4f, 0.75f]; // B, G, R
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 2; i++)
            {
                Assert.That(values[c * 4 + i * 2], Is.EqualTo((2 * left[c] - 1) / 0.5).Within(1e-5), $"channel {c} row {i} left");
                Assert.That(values[c * 4 + i * 2 + 1], Is.EqualTo((2 * right[c] - 1) / 0.5).Within(1e-5), $"channel {c} row {i} right");
            }

        var texels = new float[4 * 4 * 4];
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
            {
                float[] color = x < 2 ? [2.5f, -0.5f, 0.25f, 1f] : [0.75f, 4f, -2f, 1f];
                color.CopyTo(texels, (y * 4 + x) * 4);
            }
        var reference = new float[12];
        transform.CopyToTensor(texels, 4, 4, RowOrder.BottomUp, reference, 2, 2);
        TextureInputCpuTests.AssertImagesClose(reference, values, transform, 4f, "GL vs CPU float path");
    }

    [TestCase(InternalFormat.Rgba8)]
    [TestCase(InternalFormat.Rgba)] // unsized: some drivers report it back as GL_RGBA
    public unsafe void MutableTextureWithDefaultMipmapFilterIsStillRead(InternalFormat format)
    {
        // glTexImage2D without mipmaps and the default GL_NEAREST_MIPMAP_LINEAR filter is incomplete; the kernel's own
        // sampler object makes it readable.
        var gl = Device.GL;
        uint name = gl.GenTexture();
        try
        {
            gl.BindTexture(TextureTarget.Texture2D, name);
            byte[] pixels = TextureInputCpuTests.Pattern(3, 2, RowOrder.TopDown);
            fixed (byte* data = pixels)
                gl.TexImage2D(TextureTarget.Texture2D, 0, format, 3, 2, 0, PixelFormat.Rgba, PixelType.UnsignedByte, data);
            gl.BindTexture(TextureTarget.Texture2D, 0);
            var transform = new ImageInputTransform();
            using var input = new TextureInput(Backend, transform);
            using var batch = Backend.Allocate(new TensorShape(1, 3, 2, 3), "frame");
            input.CopyToTensor(name, batch, 0, RowOrder.TopDown);
            var reference = new float[18];
            transform.CopyToTensor(pixels, 3, 2, RowOrder.TopDown, reference, 2, 3);
            TextureInputCpuTests.AssertImagesClose(reference, batch.ToArray(), transform, 1f, "mutable texture");
        }
        finally
        {
            gl.DeleteTexture(name);
        }
    }

    [Test]
    public void BadTexturesAndTensorsNameTheField()
    {
        var gl = Device.GL;
        using var input = new TextureInput(Backend, new ImageInputTransform());
        using var batch = Backend.Allocate(new TensorShape(2, 3, 4, 4), "frames");

        Assert.That(() => input.CopyToTensor(12345, batch, 0), Throws.ArgumentException.With.Message.Contains("texture 12345 is not the name of an OpenGL texture"));

        uint volume = gl.CreateTexture(TextureTarget.Texture3D);
        uint empty = gl.CreateTexture(TextureTarget.Texture2D);
        try
        {
            gl.TextureStorage3D(volume, 1, SizedInternalFormat.Rgba8, 4, 4, 4);
            Assert.That(() => input.CopyToTensor(volume, batch, 0),
                Throws.ArgumentException.With.Message.Contains($"texture {volume}: target is GL_TEXTURE_3D, TextureInput reads GL_TEXTURE_2D"));
            Assert.That(() => input.CopyToTensor(empty, batch, 0),
                Throws.ArgumentException.With.Message.Contains($"texture {empty}: level 0 has width 0 and height 0"));
        }
        finally
        {
            gl.DeleteTexture(volume);
            gl.DeleteTexture(empty);
        }

        using (var rgb = new TestTexture(gl, SizedInternalFormat.Rgb8, 4, 4))
            Assert.That(() => input.CopyToTensor(rgb.Name, batch, 0),
                Throws.ArgumentException.With.Message.Contains($"texture {rgb.Name}: internal format is GL_RGB8, TextureInput reads GL_RGBA8 (or unsized GL_RGBA), GL_RGBA16F or GL_RGBA32F"));

        using var texture = new TestTexture(gl, SizedInternalFormat.Rgba8, 4, 4);
        using var gray = Backend.Allocate(new TensorShape(2, 1, 4, 4), "gray");
        Assert.That(() => input.CopyToTensor(texture.Name, gray, 0),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("destination 'gray' (2,1,4,4) must be (N,3,H,W) for Rgb input"));
        Assert.That(() => input.CopyToTensor(texture.Name, batch, 2),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("batchIndex 2 is outside destination 'frames' (2,3,4,4)"));
        Assert.That(() => new TextureInput(Backend, new ImageInputTransform(), textureUnit: 100000),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("textureUnit 100000"));
    }

    [Test]
    public void DescribeReportsTargetFormatAndSize()
    {
        using var texture = new TestTexture(Device.GL, SizedInternalFormat.Rgba16f, 640, 360);
        var description = TextureInput.Describe(Device, texture.Name);
        Assert.That(description, Is.EqualTo(new TextureDescription(texture.Name, GLEnum.Texture2D, GLEnum.Rgba16f, 640, 360)));
        Assert.That(description.ToString(), Is.EqualTo($"texture {texture.Name}: GL_TEXTURE_2D GL_RGBA16F 640×360"));
    }

    [Test]
    public void DisposingReleasesTheSampler()
    {
        int samplers = Device.LiveSamplerCount;
        var input = new TextureInput(Backend, new ImageInputTransform());
        Assert.That(Device.LiveSamplerCount, Is.EqualTo(samplers + 1));
        input.Dispose();
        input.Dispose();
        Assert.That(Device.LiveSamplerCount, Is.EqualTo(samplers));
        Assert.That(() => input.CopyToTensor(1, null!, 0), Throws.InstanceOf<ObjectDisposedException>());
    }
}
