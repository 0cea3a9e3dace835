using System.Net;
using System.Net.Sockets;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// A loopback TCP proxy (test -> proxy -> PostgreSQL) whose path can be made to die silently: after
/// <see cref="BlackHole"/> it drops every byte in both directions and closes nothing, as a broken network path
/// does (no reset, no FIN reaches either side).
/// </summary>
internal sealed class BlackHoleProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly EndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _sockets = [];
    private readonly Task _accepting;
    private volatile bool _blackHoled;

    internal BlackHoleProxy(string host, int port)
    {
        _target = new DnsEndPoint(host, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    internal int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>From now on nothing gets through, and nothing is closed.</summary>
    internal void BlackHole() => _blackHoled = true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(((DnsEndPoint)_target).Host, ((DnsEndPoint)_target).Port, _stop.Token);
                lock (_sockets)
                {
                    _sockets.Add(client);
                    _sockets.Add(server);
                }

                _ = PumpAsync(client.GetStream(), server.GetStream());
                _ = PumpAsync(server.GetStream(), client.GetStream());
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (!_blackHoled)
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
        }
        catch (Exception)
        {
            // A side closed or the proxy stops.
        }

        if (!_blackHoled)
        {
            to.Socket.Shutdown(SocketShutdown.Send);
        }
    }
}
