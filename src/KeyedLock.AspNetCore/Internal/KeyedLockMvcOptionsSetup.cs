using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Adds <see cref="KeyedLockMvcFilter"/> to every MVC app's global filters (it does nothing for endpoints without metadata).</summary>
internal sealed class KeyedLockMvcOptionsSetup : IConfigureOptions<MvcOptions>
{
    public void Configure(MvcOptions options) => options.Filters.Add(new Factory());

    private sealed class Factory : IFilterFactory, IOrderedFilter
    {
        public bool IsReusable => true;

        public int Order => int.MinValue + 1000;

        public IFilterMetadata CreateInstance(IServiceProvider serviceProvider) => serviceProvider.GetRequiredService<KeyedLockMvcFilter>();
    }
}
