using System.Reflection;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// The builds the engines load: these tests are compiled twice, into NeuroPlugin.Tests (net10.0, against the net10.0
/// Runtime) and into NeuroPlugin.Runtime.Net8Tests (net8.0, against the net8.0 Runtime, self-contained so it runs on a
/// real .NET 8 runtime; see <c>.ci/test</c>), and this checks that each assembly tests the Runtime build of its own
/// framework on that framework's runtime; <c>package.json</c> states exactly the frameworks the Runtime project builds,
/// and no Unity version.
/// </summary>
public sealed class EnginesTests
{
    [Test]
    public void TheRuntimeUnderTest_IsTheBuildOfTheTestsFramework_OnItsRuntime()
    {
        string framework = typeof(NeuroModel).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;
        string tests = typeof(EnginesTests).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;
        TestContext.Progress.WriteLine($"NeuroPlugin.Runtime under test: {framework} on .NET {Environment.Version}");
        Assert.That(framework, Is.EqualTo(tests));
        Assert.That(Environment.Version.Major, Is.EqualTo(new FrameworkName(tests).Version.Major), "the runtime the tests run on");
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
