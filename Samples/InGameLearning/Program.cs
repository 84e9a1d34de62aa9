// In-game learning: a small game rendered with OpenGL on the same context as the network, and a CNN that learns
// from the rendered frames while the game runs, within a time budget per frame.
//
// Shapes of four kinds fall; when one reaches the player's line the player must react to its kind (catch a
// circle, block a square, dodge a triangle, jump a cross). The player "sees" through the network: each frame the
// look-ahead view of the nearest shape goes texture → tensor on the GPU, the network predicts its kind, and the
// prediction comes back asynchronously. The game knows every shape's true kind, so each frame is also a labelled
// example: it goes into a replay buffer on the GPU, and training steps on minibatches from it run in the frame's
// leftover time. Predictions, and so the player's reactions, get better as the game goes on.
//
// The network side is the game-facing API (namespace NeuroPlugin): an OnlineLearner on the game's GL device, whose
// Model predicts with the current weights. Per frame (see README.md for the integration points in the order a game
// uses them):
//   game.Step()                           host logic: move, resolve shapes that reached the player, spawn
//   renderer.DrawScreen / DrawEye         rasterize into two framebuffer textures
//   learner.Observe(eye)                  texture → the network's input, learner.Observation (compute shader, once)
//   learner.AddObservation(kind)          that input + label → replay buffer (device copy)
//   predictions.TryStart / TryTake        learner.Model.Start(learner.Observation, …), read back a frame or so later
//                                         without a stall (a frame is skipped when every result is still in flight)
//   learner.Step(budget)                  budgeted training (NaN guard inside), unless paused over the live link
//   glFinish                              "present": a headless stand-in for SwapBuffers
//   link.EndFrame(frameTime)              with --inspect: the live link records the frame and serves probes
//
// Run:  dotnet run --project Samples/InGameLearning -c Release -- --frames 3600 [--no-training] [--out out/ingame]
//       [--inspect PORT [--allow-control]]

using System.Diagnostics;
using System.Globalization;
using NeuroPlugin;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Models;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Monitoring.Live;
using NeuroPlugin.Samples.InGameLearning;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture; // the table and figures read the same everywhere
var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

if (options.InferenceModel is not null) return InferenceRun.Run(options);

try
{
    // The game's side: its engine created a GL context and made it current on the render thread. Headless here.
    using var context = GLDevice.CreateHeadless();
    // The runtime wraps that context (it never destroys it); rendering and learning share it, so textures go to
    // tensors without leaving the GPU. (NeuroDevice.CurrentContext(gl) would wrap it too; the renderer and the memory log
    // use this wrapper, so the learner shares it.)
    using var device = GLDevice.FromCurrentContext(context.GL);
    using var renderer = new Renderer(device, screenSize: 128, eyeSize: 64);
    using var learner = OpenLearner(options, NeuroDevice.Of(device));
    var predictions = new ShapePredictions(learner.Model);
    var nonFiniteReports = new List<string>();
    learner.NonFiniteDetected += report => nonFiniteReports.Add(report.ToString()); // never, normally
    learner.Trainer.SplitStages = !options.WholeStages;
    learner.Trainer.MarginPercentile = options.MarginPercentile;
    learner.Trainer.LastItemLimit = options.LastItemLimit;
    var game = new Game(options.Seed);
    string mode = !options.Training ? "off" : options.StepsPerFrame is int steps ? $"{steps} step(s) per frame"
        : $"{options.TrainBudget.TotalMilliseconds:0.#} ms budget per frame{(options.WholeStages ? ", whole stages" : "")}";
    Console.WriteLine($"InGameLearning: {options.Frames} frames ({options.Frames * Game.TimeStep:0.0} s of game time), seed {options.Seed}, training {mode}");
    Console.WriteLine($"GL: {device.Renderer} ({device.Version})");
    if (options.Training && options.StepsPerFrame is null && options.WarmUp)
    {
        // the loading screen: the step's code is compiled and its stages measured on a scratch copy, not in the first
        // frames that train (the learner's weights, optimizer and counters stay as they are)
        long warmUpStart = Stopwatch.GetTimestamp();
        learner.WarmUp(options.TrainBudget.TotalMilliseconds);
        Console.WriteLine($"warm-up (loading): {Stopwatch.GetElapsedTime(warmUpStart).TotalMilliseconds:0} ms; one step estimated at " +
            $"{learner.Trainer.EstimatedStepTime.TotalMilliseconds:0.0} ms");
    }

    Directory.CreateDirectory(options.Out);
    // Opt-in: the editor (Attach) or `neuro monitor` watches the network learn; read-only unless --allow-control.
    string liveCheckpoint = options.Checkpoint ?? Path.Combine(options.Out, "live.ckpt.neuro");
    using var link = options.Inspect is int port ? LiveLink.Start(learner.Trainer, new LiveLinkOptions
    {
        Port = port,
        EnableControl = options.AllowControl,
        Checkpoint = () => { learner.Save(liveCheckpoint); return liveCheckpoint; },
        Monitor = new MonitorOptions { Every = options.MonitorEvery },
    }) : null;
    if (link is not null)
    {
        link.FrameInput = learner.Observation; // the frame as the network sees it: probes run on it
        Console.WriteLine($"live link: {link.Url} ({(link.ControlEnabled ? "control enabled" : "read-only")}); attach from the editor, or record with: neuro monitor \"{link.Url}\" --out live.jsonl");
        Console.Out.Flush(); // a tool waiting for the URL reads it now, not when the game ends
        var waiting = Stopwatch.StartNew();
        while (link.Clients == 0 && waiting.Elapsed.TotalSeconds < options.WaitForClient) Thread.Sleep(10);
        if (options.WaitForClient > 0) Console.WriteLine(link.Clients > 0 ? "live link: a client is attached, the game starts" : $"live link: no client after {options.WaitForClient:0.#} s, the game starts");
    }

    const int windowCount = 10;
    var windows = Enumerable.Range(0, windowCount).Select(k => new Window(
        k * options.Frames / windowCount * Game.TimeStep, (k + 1) * options.Frames / windowCount * Game.TimeStep)).ToArray();
    Window WindowOf(int frame) => windows[Math.Min(windowCount - 1, (frame - 1) * windowCount / options.Frames)];

    const int stripLength = 8;
    var captureFrames = Enumerable.Range(0, stripLength).Select(k => (int)((k + 0.75) * options.Frames / stripLength)).ToHashSet();
    var captures = new Dictionary<int, CapturedFrame>();
    // the strip's pixels are allocated before the loop, so a run of any length holds the same memory after its first frame
    var screenPixels = captureFrames.ToDictionary(f => f, _ => new byte[renderer.Screen.Color.Width * renderer.Screen.Color.Height * 4]);
    using var memoryLog = options.MemoryLog is null ? null : new MemoryLog(options.MemoryLog, device);

    var frameTimes = new double[options.Frames];
    var trainingTimes = new double[options.Frames]; // wall time of each frame's training call (ms; llvmpipe runs the work inside
                                                    // the call), 0 before training starts
    long trainingCalls = 0;                         // items the budgeted trainer ran (each one run of a stage's host code)
    var frameReports = options.FrameLog is null ? null : new FrameReport[options.Frames]; // --frame-log: the trainer's report per frame
    for (int frame = 1; frame <= options.Frames; frame++)
    {
        long start = Stopwatch.GetTimestamp();
        var window = WindowOf(frame);

        game.Step();
        foreach (var resolution in game.Resolutions)
        {
            var at = WindowOf(resolution.Frame);
            at.Reactions++;
            if (resolution.Correct) at.CorrectReactions++;
        }

        renderer.DrawScreen(game);
        var nearest = game.Nearest;
        if (nearest is not null)
        {
            renderer.DrawEye(game, nearest);
            learner.Observe(renderer.Eye.Color.Handle); // rendered bottom-up, as GL does
            if (options.Training) learner.AddObservation((int)nearest.Kind);
            if (predictions.TryStart(learner.Observation, frame, nearest) && captureFrames.Contains(frame))
                captures[frame] = new CapturedFrame(frame, [], renderer.Screen.Color.Width, nearest.X, nearest.Y, nearest.Kind, null);
        }

        while (predictions.TryTake(out var prediction))
        {
            var at = WindowOf(prediction.Frame);
            at.Predictions++;
            if (prediction.Correct) at.CorrectPredictions++;
            foreach (var shape in game.Shapes)
                if (shape.Id == prediction.ShapeId) shape.Believed = prediction.Predicted;
            if (captures.TryGetValue(prediction.Frame, out var captured)) captures[prediction.Frame] = captured with { Predicted = prediction.Predicted };
        }

        if (options.Training && link?.TrainingPaused != true)
        {
            long before = learner.Steps, trainingStart = Stopwatch.GetTimestamp();
            if (options.StepsPerFrame is int fixedSteps) learner.Train(fixedSteps);
            else learner.Step(options.TrainBudget);
            if (learner.ExampleCount >= learner.MinimumExamples) // training has started
            {
                trainingTimes[frame - 1] = Stopwatch.GetElapsedTime(trainingStart).TotalMilliseconds;
                trainingCalls += learner.Trainer.LastFrame.Stages;
                if (frameReports is not null) frameReports[frame - 1] = learner.Trainer.LastFrame;
            }
            window.TrainingSteps += learner.Steps - before;
        }

        device.GL.Finish(); // present
        var frameTime = Stopwatch.GetElapsedTime(start);
        frameTimes[frame - 1] = frameTime.TotalMilliseconds;
        link?.EndFrame(frameTime);

        // Outside the timed part: the strip's few frames are copied back (a stall, on purpose), and memory is sampled.
        if (captures.TryGetValue(frame, out var capture))
        {
            renderer.Screen.Color.Read(screenPixels[frame]);
            captures[frame] = capture with { Rgba = screenPixels[frame] };
        }
        if (memoryLog is not null && frame % options.MemoryEvery == 0) memoryLog.Sample(frame);
        if (options.Realtime) WaitForNextFrame(start, options.FrameBudget);
    }
    device.CheckErrors("the game loop");

    Report.PrintTable(windows);
    var frameTimesInOrder = (double[])frameTimes.Clone();
    Array.Sort(frameTimes);
    double budgetMs = options.FrameBudget.TotalMilliseconds;
    int over = frameTimes.Count(t => t > budgetMs);
    Console.WriteLine($"frame time (ms): p50 {Report.Percentile(frameTimes, 50):0.00}, p95 {Report.Percentile(frameTimes, 95):0.00}, p99 {Report.Percentile(frameTimes, 99):0.00}, max {frameTimes[^1]:0.00}");
    Console.WriteLine($"frames over the {budgetMs:0.0} ms frame budget: {over} of {options.Frames} ({100.0 * over / options.Frames:0.0} %)");
    if (options.Training)
    {
        var trainer = learner.Trainer;
        Console.WriteLine($"training: {learner.Steps} steps of {learner.BatchSize} ({(double)learner.Steps / options.Frames:0.00} per frame), replay buffer {learner.ExampleCount} frames");
        Console.WriteLine($"training progress: {learner.Steps / (options.Frames * Game.TimeStep):0.00} steps per second of game time");
        if (options.StepsPerFrame is null)
        {
            int parts = Enumerable.Range(0, trainer.StageCount).Sum(trainer.StagePartCount);
            Console.WriteLine($"training budget: one step estimated at {trainer.EstimatedStepTime.TotalMilliseconds:0.0} ms ({trainer.StageCount} stages, {parts} parts); " +
                $"{trainer.Overruns} frames ran over the {options.TrainBudget.TotalMilliseconds:0.#} ms training budget (largest by {trainer.MaxOverrun.TotalMilliseconds:0.00} ms)");
            Report.PrintBudgetFigures("training", trainingTimes, options.TrainBudget.TotalMilliseconds);
            Report.PrintThroughput(trainingTimes, options.TrainBudget.TotalMilliseconds, learner.Steps, trainer.EstimatedStepTime.TotalMilliseconds, trainingCalls);
            if (options.FrameLog is not null)
            {
                Report.SaveFrameLog(options.FrameLog, frameTimesInOrder, trainingTimes, frameReports!);
                Console.WriteLine($"wrote {options.FrameLog}");
            }
            string budgetChart = Path.Combine(options.Out, "budget.png");
            Directory.CreateDirectory(options.Out);
            Report.SaveBudgetChart(trainingTimes, options.TrainBudget.TotalMilliseconds, "training", budgetChart,
                $"Training time per frame, {mode} (seed {options.Seed})");
            Console.WriteLine($"wrote {budgetChart}");
        }
        foreach (string report in nonFiniteReports) Console.WriteLine($"NaN guard: {report}");
    }
    Console.WriteLine($"score: {game.Score} ({game.CorrectReactions} of {game.Reactions} reactions right)");

    string chart = Path.Combine(options.Out, "learning.png"), strip = Path.Combine(options.Out, "frames.png");
    Report.SaveLearningChart(windows, chart, $"In-game learning, {mode} (seed {options.Seed})");
    Report.SaveFrameStrip(captures.Values.OrderBy(c => c.Frame).ToArray(), strip);
    Console.WriteLine($"wrote {chart}");
    Console.WriteLine($"wrote {strip}");
    if (options.Checkpoint is not null)
    {
        learner.Save(options.Checkpoint);
        Console.WriteLine($"wrote {options.Checkpoint}");
    }
    return 0;
}
catch (Exception e) when (e is GLUnavailableException or ModelFileException)
{
    Console.Error.WriteLine($"InGameLearning: {e.Message}");
    return 1;
}

/// <summary>With <c>--realtime</c>: sleeps until <paramref name="period"/> after the frame's <paramref name="start"/> (a
/// timestamp), as a game blocked on vsync does, so the machine's other work (an attached editor, a browser) runs in the
/// frame's idle time rather than inside the next frame. A late frame waits for nothing: the next one starts at once.</summary>
static void WaitForNextFrame(long start, TimeSpan period)
{
    var left = period - Stopwatch.GetElapsedTime(start);
    if (left > TimeSpan.Zero) Thread.Sleep(left);
}

/// <summary>The game's network through the game-facing API: LeNet-5 for the 32×32 grey look-ahead view and the four kinds,
/// Adam at <c>--learning-rate</c>, batches of 16 drawn from a replay buffer of 2048 frames once it holds 64; fresh weights
/// from the seed, or those of <c>--resume</c>'s checkpoint (with its optimizer state and step count).</summary>
static OnlineLearner OpenLearner(Options options, NeuroDevice device)
{
    var graph = ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: 32, Classes: Enum.GetValues<ShapeKind>().Length));
    var learnerOptions = new OnlineLearnerOptions
    {
        Training = new TrainingOptions { Optimizer = "adam", LearningRate = options.LearningRate, Schedule = "constant", BatchSize = 16, Seed = options.Seed },
        ReplayCapacity = 2048,
        MinimumExamples = 64,
        // pixels in [0,1] → luma → (v − 0.5)/0.5 in [−1,1], the 64×64 view area-averaged to 32×32; the kinds' names as labels.
        // Given here, so a checkpoint written before checkpoints carried them resumes too.
        Metadata = ModelMetadata.Describe(graph) with { Normalization = new InputNormalization([0.5f], [0.5f]), Labels = Enum.GetNames<ShapeKind>() },
        Model = new NeuroModelOptions { MaxInFlight = ShapePredictions.Slots },
    };
    return options.Resume is null ? OnlineLearner.Create(graph, device, learnerOptions) : OnlineLearner.Resume(options.Resume, device, learnerOptions);
}

/// <summary>The command line.</summary>
sealed record Options(int Frames, int Seed, bool Training, int? StepsPerFrame, TimeSpan TrainBudget, TimeSpan FrameBudget,
    float LearningRate, string Out, string? Checkpoint, string? Resume, string? MemoryLog = null, int MemoryEvery = 1000,
    bool WholeStages = false, string? InferenceModel = null, TimeSpan? InferenceBudget = null,
    int? Inspect = null, bool AllowControl = false, int MonitorEvery = 10, double WaitForClient = 0, bool Cpu = false, string? FrameLog = null,
    double MarginPercentile = FrameBudgetedStages.DefaultMarginPercentile, TimeSpan? WorkerSpin = null, bool Realtime = false,
    bool WarmUp = true, TimeSpan? LastItem = null)
{
    public TimeSpan LastItemLimit => LastItem ?? FrameBudgetedStages.DefaultLastItemLimit;

    public const string Usage = """
        usage: InGameLearning [--frames N] [--seed S] [--no-training] [--train-budget-ms MS | --steps-per-frame K]
                              [--frame-budget-ms MS] [--realtime] [--learning-rate LR] [--out DIR] [--checkpoint FILE] [--resume FILE]
                              [--memory-log FILE [--memory-every N]] [--frame-log FILE]
                              [--whole-stages] [--margin-percentile P] [--last-item-ms MS] [--no-warm-up] [--inference-model M [--inference-budget-ms MS] [--cpu [--worker-spin-us US]]]
          --frames N            frames to run, 60 per game second (default 3600)
          --seed S              seeds the game and the network (default 1)
          --no-training         predict only (for frame-time comparisons)
          --train-budget-ms MS  training time per frame (default 4)
          --steps-per-frame K   exactly K training steps per frame instead of a time budget (reproducible runs)
          --frame-budget-ms MS  the frame time counted as over budget (default 16.7, 60 frames/s)
          --realtime            start a frame only once the previous one's frame budget has passed, as a game waiting
                                for vsync does (otherwise frames run back to back, as fast as the machine allows)
          --whole-stages        run each training stage whole (no parts finer than an op): for comparisons
          --margin-percentile P which percentile of the cost estimates' misses is set aside from each budget (0-100,
                                default 90; 0: none, 99: also the rare long misses)
          --last-item-ms MS     the longest a frame's last item is planned at (default 1; 0: no limit), so time lost
                                mid-item costs a frame about that much at most
          --no-warm-up          skip the loading screen's warm-up (OnlineLearner.WarmUp: a few steps on a scratch copy that
                                compile the step's code and measure its stages), so the first training frames do both
          --inference-model M   instead of the game: frame-budgeted inference of zoo model M at its reference size
          --inference-budget-ms MS  that inference's time per frame (default 2)
          --cpu                 that inference on the CPU backend instead of GL
          --worker-spin-us US   how long the CPU backend's threads watch for the next job before they sleep
                                (CpuBackend.WorkerSpin; default 250, 0 sleeps at once, at most 10000)
          --learning-rate LR    Adam's learning rate (default 0.002)
          --out DIR             where learning.png and frames.png go (default out/ingame)
          --checkpoint FILE     save a training checkpoint at the end
          --resume FILE         continue from a checkpoint (trained at the same --learning-rate)
          --memory-log FILE     every N frames (default 1000) append a CSV row: managed memory after a full collection,
                                bytes allocated so far, live GL objects, resident set (long-run checks)
          --frame-log FILE      write a CSV row per frame: frame time, training time, and the budgeted trainer's report
                                (estimated and host time of the items it ran, items, steps finished); with
                                --inference-model the same for the budgeted inference (passes in the steps column)
          --inspect PORT        open the live link on 127.0.0.1:PORT (0: a free port) and print its URL with the token
          --allow-control       let the attached client pause/resume training, change the rate, take a checkpoint
          --monitor-every K     with --inspect: the monitor samples every K training steps (default 10)
          --wait-for-client S   with --inspect: play the first frame only once a client is attached (at most S seconds),
                                so a recording starts with the game and the client's own start-up is not in its frames
        """;

    public static Options? Parse(string[] args)
    {
        var options = new Options(3600, 1, true, null, TimeSpan.FromMilliseconds(4), TimeSpan.FromMilliseconds(1000.0 / 60), 2e-3f, "out/ingame", null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            bool Number(out double number) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && number >= 0;
            switch (args[i])
            {
                case "--no-training": options = options with { Training = false }; continue;
                case "--realtime": options = options with { Realtime = true }; continue;
                case "--whole-stages": options = options with { WholeStages = true }; continue;
                case "--no-warm-up": options = options with { WarmUp = false }; continue;
                case "--cpu": options = options with { Cpu = true }; continue;
                case "--inference-model" when value is not null: options = options with { InferenceModel = value }; break;
                case "--inference-budget-ms" when Number(out double ms): options = options with { InferenceBudget = TimeSpan.FromMilliseconds(ms) }; break;
                case "--worker-spin-us" when Number(out double us) && us <= 10_000: options = options with { WorkerSpin = TimeSpan.FromMicroseconds(us) }; break;
                case "--allow-control": options = options with { AllowControl = true }; continue;
                case "--inspect" when int.TryParse(value, out int port) && port is >= 0 and <= 65535: options = options with { Inspect = port }; break;
                case "--monitor-every" when int.TryParse(value, out int every) && every >= 1: options = options with { MonitorEvery = every }; break;
                case "--wait-for-client" when Number(out double seconds): options = options with { WaitForClient = seconds }; break;
                case "--frames" when int.TryParse(value, out int frames) && frames >= 10: options = options with { Frames = frames }; break;
                case "--seed" when int.TryParse(value, out int seed): options = options with { Seed = seed }; break;
                case "--steps-per-frame" when int.TryParse(value, out int steps) && steps >= 1: options = options with { StepsPerFrame = steps }; break;
                case "--train-budget-ms" when Number(out double ms): options = options with { TrainBudget = TimeSpan.FromMilliseconds(ms) }; break;
                case "--frame-budget-ms" when Number(out double ms) && ms > 0: options = options with { FrameBudget = TimeSpan.FromMilliseconds(ms) }; break;
                case "--learning-rate" when Number(out double rate) && rate > 0: options = options with { LearningRate = (float)rate }; break;
                case "--out" when value is not null: options = options with { Out = value }; break;
                case "--checkpoint" when value is not null: options = options with { Checkpoint = value }; break;
                case "--resume" when value is not null: options = options with { Resume = value }; break;
                case "--memory-log" when value is not null: options = options with { MemoryLog = value }; break;
                case "--frame-log" when value is not null: options = options with { FrameLog = value }; break;
                case "--last-item-ms" when Number(out double ms): options = options with { LastItem = TimeSpan.FromMilliseconds(ms) }; break;
                case "--margin-percentile" when Number(out double percentile) && percentile <= 100: options = options with { MarginPercentile = percentile }; break;
                case "--memory-every" when int.TryParse(value, out int every) && every >= 1: options = options with { MemoryEvery = every }; break;
                default:
                    Console.Error.WriteLine($"InGameLearning: bad argument '{args[i]}'{(value is null ? "" : $" '{value}'")}");
                    return null;
            }
            i++;
        }
        return options;
    }
}
