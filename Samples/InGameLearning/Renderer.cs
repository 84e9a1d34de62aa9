using NeuroPlugin.Backends.OpenGL;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>
/// Draws the game with real rasterization on the GL device's own context: every shape is one instanced quad
/// whose fragment shader fills the shape from its signed distance (anti-aliased edge), blended over a dark
/// background. Two render targets, each a framebuffer object on an RGBA8 texture:
/// <list type="bullet">
/// <item><see cref="Screen"/>: the whole world, what the player would see;</item>
/// <item><see cref="Eye"/>: the player's look-ahead view, a fixed-size window of the world centred on the
/// nearest shape, which the network learns from (neighbours and the player's bar wander into it).</item>
/// </list>
/// Per frame it uploads one small instance buffer (filled from a preallocated array: no allocation) and draws.
/// All calls on the context's thread; the GL state it changes (framebuffer, viewport, blending, program, vertex
/// array) is set at the start of every draw and the framebuffer binding is restored to 0 at the end.
/// </summary>
public sealed class Renderer : IDisposable
{
    /// <summary>Side of the look-ahead window in world units: the largest shape (size 0.075 at any rotation) fits.</summary>
    public const float EyeExtent = 0.25f;
    const int FloatsPerInstance = 8, MaxInstances = 64;
    const int PlayerKind = 4; // drawn as a bar

    const string VertexSource = """
        #version 430 core
        // Per instance: placement = (x, y, size, rotation) in world units, look = (kind, r, g, b).
        layout(location = 0) in vec4 placement;
        layout(location = 1) in vec4 look;
        // The visible world rectangle (left, bottom, width, height) mapped onto the whole target.
        uniform vec4 view;
        out vec2 local;        // the fragment in the shape's own frame, in units of its size
        flat out int kind;
        flat out vec3 color;
        void main()
        {
            // A quad 2.5 sizes wide around the shape (a triangle strip of 4 vertices from gl_VertexID).
            vec2 corner = vec2(float(gl_VertexID & 1) * 2.0 - 1.0, float(gl_VertexID >> 1) * 2.0 - 1.0) * 1.25;
            local = corner;
            float c = cos(placement.w), s = sin(placement.w);
            vec2 world = placement.xy + placement.z * vec2(c * corner.x - s * corner.y, s * corner.x + c * corner.y);
            gl_Position = vec4((world - view.xy) / view.zw * 2.0 - 1.0, 0.0, 1.0);
            kind = int(look.x + 0.5);
            color = look.yzw;
        }
        """;

    const string FragmentSource = """
        #version 430 core
        in vec2 local;
        flat in int kind;
        flat in vec3 color;
        out vec4 fragment;

        float box(vec2 p, vec2 halfSize)
        {
            vec2 d = abs(p) - halfSize;
            return length(max(d, 0.0)) + min(max(d.x, d.y), 0.0);
        }

        // An equilateral triangle with circumradius r, pointing up (Inigo Quilez's exact distance).
        float triangle(vec2 p, float r)
        {
            const float k = sqrt(3.0);
            float side = r * k * 0.5;
            p.x = abs(p.x) - side;
            p.y = p.y + side / k;
            if (p.x + k * p.y > 0.0) p = vec2(p.x - k * p.y, -k * p.x - p.y) / 2.0;
            p.x -= clamp(p.x, -2.0 * side, 0.0);
            return -length(p) * sign(p.y);
        }

        void main()
        {
            float d;
            if (kind == 0) d = length(local) - 1.0;                                           // circle
            else if (kind == 1) d = box(local, vec2(0.85));                                   // square
            else if (kind == 2) d = triangle(local, 1.2);                                     // triangle
            else if (kind == 3) d = min(box(local, vec2(1.0, 0.3)), box(local, vec2(0.3, 1.0))); // cross
            else d = box(local, vec2(1.2, 0.08));                                             // the player's bar
            float pixel = length(fwidth(local));
            float coverage = clamp(0.5 - d / max(pixel, 1e-6), 0.0, 1.0);
            if (coverage <= 0.0) discard;
            fragment = vec4(color, coverage);
        }
        """;

    readonly GLDevice device;
    readonly GLDrawProgram program;
    readonly GLVertexArray vertexArray;
    readonly GLVertexBuffer instances;
    readonly float[] instanceData = new float[FloatsPerInstance * MaxInstances];
    readonly int viewLocation;

    /// <summary>Creates the program, the instance buffer and both render targets on <paramref name="device"/>'s context
    /// (current on the calling thread).</summary>
    public Renderer(GLDevice device, int screenSize, int eyeSize)
    {
        this.device = device;
        var gl = device.GL;
        program = new GLDrawProgram(device, "shapes", VertexSource, FragmentSource);
        viewLocation = program.UniformLocation("view");
        instances = new GLVertexBuffer(device, instanceData.Length);
        vertexArray = new GLVertexArray(device);
        uint vao = vertexArray.Handle;
        gl.VertexArrayVertexBuffer(vao, 0, instances.Handle, 0, FloatsPerInstance * sizeof(float));
        gl.VertexArrayBindingDivisor(vao, 0, 1);
        for (uint attribute = 0; attribute < 2; attribute++)
        {
            gl.EnableVertexArrayAttrib(vao, attribute);
            gl.VertexArrayAttribFormat(vao, attribute, 4, VertexAttribType.Float, false, attribute * 4 * sizeof(float));
            gl.VertexArrayAttribBinding(vao, attribute, 0);
        }
        var screenTexture = new GLTexture2D(device, screenSize, screenSize);
        var eyeTexture = new GLTexture2D(device, eyeSize, eyeSize);
        Screen = new GLFramebuffer(device, screenTexture);
        Eye = new GLFramebuffer(device, eyeTexture);
        device.CheckErrors("creating the renderer");
    }

    /// <summary>The whole world (the player's screen).</summary>
    public GLFramebuffer Screen { get; }
    /// <summary>The look-ahead window around the nearest shape: the network's input picture.</summary>
    public GLFramebuffer Eye { get; }

    /// <summary>Draws the whole world into <see cref="Screen"/>.</summary>
    public void DrawScreen(Game game) => Draw(game, Screen, 0f, 0f, 1f);

    /// <summary>Draws the <see cref="EyeExtent"/>-wide window centred on <paramref name="target"/> into <see cref="Eye"/>.</summary>
    public void DrawEye(Game game, Shape target) =>
        Draw(game, Eye, target.X - EyeExtent / 2, target.Y - EyeExtent / 2, EyeExtent);

    void Draw(Game game, GLFramebuffer framebuffer, float left, float bottom, float extent)
    {
        if (Environment.CurrentManagedThreadId != device.OwnerThreadId)
            throw new InvalidOperationException($"the renderer draws on the GL thread {device.OwnerThreadId}, not {Environment.CurrentManagedThreadId}");
        int count = 0;
        Write(ref count, 0.5f, Game.PlayerLine, 0.5f, 0f, PlayerKind, (0.85f, 0.85f, 0.85f));
        foreach (var shape in game.Shapes)
        {
            if (count == MaxInstances) break;
            Write(ref count, shape.X, shape.Y, shape.Size, shape.Rotation, (int)shape.Kind, shape.Color);
        }

        var gl = device.GL;
        instances.Upload(instanceData.AsSpan(0, count * FloatsPerInstance));
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, framebuffer.Handle);
        gl.Viewport(0, 0, (uint)framebuffer.Color.Width, (uint)framebuffer.Color.Height);
        gl.ClearColor(0.06f, 0.07f, 0.1f, 1f);
        gl.Clear(ClearBufferMask.ColorBufferBit);
        gl.Enable(EnableCap.Blend);
        gl.BlendFunc(BlendingFactor.SrcAlpha, BlendingFactor.OneMinusSrcAlpha);
        gl.UseProgram(program.Handle);
        gl.Uniform4(viewLocation, left, bottom, extent, extent);
        gl.BindVertexArray(vertexArray.Handle);
        gl.DrawArraysInstanced(PrimitiveType.TriangleStrip, 0, 4, (uint)count);
        gl.BindVertexArray(0);
        gl.Disable(EnableCap.Blend);
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, 0);
    }

    void Write(ref int count, float x, float y, float size, float rotation, int kind, (float R, float G, float B) color)
    {
        var slot = instanceData.AsSpan(count++ * FloatsPerInstance, FloatsPerInstance);
        slot[0] = x; slot[1] = y; slot[2] = size; slot[3] = rotation;
        slot[4] = kind; slot[5] = color.R; slot[6] = color.G; slot[7] = color.B;
    }

    /// <summary>Deletes every GL object (on the GL thread).</summary>
    public void Dispose()
    {
        Eye.Dispose();
        Eye.Color.Dispose();
        Screen.Dispose();
        Screen.Color.Dispose();
        vertexArray.Dispose();
        instances.Dispose();
        program.Dispose();
    }
}
