using System.Runtime.CompilerServices;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// The detection-latency tests measure how fast a provider notices a lost lock, in the same process as test classes
/// that block threads (xunit runs classes in parallel; process and server-control helpers wait synchronously). On a
/// 2-core machine the thread pool starts with 2 workers and adds one about every 0.5-1 s when they are all blocked,
/// which showed up as 1-2 s "detection" times that were only the wait for a pool thread. Start with enough workers
/// that the measured time is the provider's, as in a server app whose pool is warmed up.
/// </summary>
internal static class ThreadPoolWarmup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
    }
}
