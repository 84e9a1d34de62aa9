using System.Reflection;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// The builds the engines load: CI runs this test assembly a second time with the net8.0 NeuroPlugin.Runtime.dll in place
/// of the net10.0 one (<c>NEURO_RUNTIME_FRAMEWORK=net8.0</c>, see <c>.ci/test</c>), and this checks that the swap took;
/// <c>package.json</c> states exactly the frameworks the Runtime project builds, and no Unity version.
/// </summary>
public sealed class EnginesTests
{
    [Test]
    public void TheRuntimeUnderTest_IsTheBuildCiAskedFor()
    {
        string framework = typeof(NeuroModel).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;
        TestContext.Progress.WriteLine($"NeuroPlugin.Runtime under test: {framework} on .NET {Environment.Version}");
        string expected = Environment.GetEnvironmentVariable("NEURO_RUNTIME_FRAMEWORK") ?? "net10.0";
        Assert.That(framework, Is.EqualTo($".NETCoreApp,Version=v{expected["net".Length..]}"));
    }

    [Test]
    public void PackageJson_StatesTheFrameworksTheRuntimeBuilds_AndNoUnityVersion()
    {
        string root = ModelMetadataTests.RepositoryRoot();
        var package = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "package.json")))!.AsObject();
        var project = XDocument.Load(Path.Combine(root, "Runtime", "NeuroPlugin.Runtime.csproj"));
        string built = project.Descendants("TargetFrameworks").Single().Value;
        Assert.That(package["neuroplugin"]!["runtime"]!["targetFrameworks"]!.AsArray().Select(f => (string)f!), Is.EqualTo(built.Split(';')));
        Assert.That(package.ContainsKey("unity"), Is.False, "no Unity version: the package cannot load there");
        var engines = package["neuroplugin"]!["engines"]!.AsArray();
        Assert.That(engines.Where(e => (bool)e!["supported"]!).Select(e => (string)e!["engine"]!),
            Is.EqualTo(new[] { "Godot 4 .NET", "Stride", "MonoGame", "FNA", ".NET 8+ programs" }));
        Assert.That(engines.Single(e => !(bool)e!["supported"]!)!["engine"]!.GetValue<string>(), Does.StartWith("Unity"));
    }
}
