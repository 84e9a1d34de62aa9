// The namespaces most tests use, for every file of this project and of Tests/Gpu/GpuCheck, which links it.
global using NeuroPlugin.Backends;
global using NeuroPlugin.Backends.Cpu;
global using NeuroPlugin.Backends.OpenGL;
global using NeuroPlugin.Data;
global using NeuroPlugin.Execution;
global using NeuroPlugin.Graph;
global using NeuroPlugin.Layers;
global using NeuroPlugin.Models;
global using NeuroPlugin.Optimizers;
global using NeuroPlugin.Serialization;
global using NeuroPlugin.Tensors;
global using NeuroPlugin.Training;
global using NeuroPlugin.Tests.OpenGL;
global using NeuroPlugin.Tests.TestSupport;
global using System.Diagnostics;
global using System.Text;
global using System.Text.Json;
