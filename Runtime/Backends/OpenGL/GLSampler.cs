using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A sampler object with nearest filtering, no mipmaps and clamp-to-edge wrapping (<c>glCreateSamplers</c>).
/// Bound to a texture unit it overrides the texture's own sampling state, so a host texture made with
/// <c>glTexImage2D</c> and the default <c>GL_NEAREST_MIPMAP_LINEAR</c> minification filter (incomplete without
/// mipmaps: <c>texelFetch</c> would read zeros) is still complete for the kernels that read it.
/// Lifetime as every <see cref="GLObject"/>: deleted once, on the owner thread, never from a finalizer.
/// </summary>
public sealed class GLSampler : GLObject
{
    /// <summary>Creates the sampler on <paramref name="device"/>.</summary>
    public GLSampler(GLDevice device) : base(device, GLObjectKind.Sampler)
    {
        var gl = device.GL;
        uint name = gl.CreateSampler();
        if (name == 0) throw new GLException($"glCreateSamplers returned no sampler object on {device.Renderer}");
        Adopt(name);
        gl.SamplerParameter(name, SamplerParameterI.MinFilter, (int)GLEnum.Nearest);
        gl.SamplerParameter(name, SamplerParameterI.MagFilter, (int)GLEnum.Nearest);
        gl.SamplerParameter(name, SamplerParameterI.WrapS, (int)GLEnum.ClampToEdge);
        gl.SamplerParameter(name, SamplerParameterI.WrapT, (int)GLEnum.ClampToEdge);
    }
}
