namespace KeyedLock.Redis.Tests;

/// <summary>
/// A test that needs Redis (<c>KEYEDLOCK_REDIS_CONNECTION</c>). Skipped locally when it is not set; with
/// <c>CI=true</c> it runs anyway and fails with a clear message, so CI can never pass by skipping.
/// </summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (!TestRedis.IsConfigured && !TestRedis.IsCi)
        {
            Skip = "KEYEDLOCK_REDIS_CONNECTION is not set (run ./build.sh test, which starts a throwaway redis-server).";
        }
    }
}
