using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeyedLock.Benchmarks;

/// <summary>A built ASP.NET Core app whose pipeline is invoked directly, one request at a time.</summary>
internal sealed class HttpPipeline : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RequestDelegate _pipeline;
    private readonly IServiceScopeFactory _scopes;

    private HttpPipeline(WebApplication app)
    {
        _app = app;
        _pipeline = ((IApplicationBuilder)app).Build();
        _scopes = app.Services.GetRequiredService<IServiceScopeFactory>();
    }

    public static HttpPipeline Create(Action<IServiceCollection> services, Action<WebApplication> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        services(builder.Services);
        var app = builder.Build();
        app.UseRouting();
        configure(app);

        // WebApplication adds the endpoint middleware only when the host builds the pipeline; here we build it.
        app.UseEndpoints(static _ => { });
        return new HttpPipeline(app);
    }

    public async Task SendAsync(string path)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = path;
        context.Response.Body = Stream.Null;
        await _pipeline(context);
        if (context.Response.StatusCode != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException($"Unexpected status {context.Response.StatusCode} for {path}.");
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
