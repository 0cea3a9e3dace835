KeyedLock.AotSmoke.SmokeApp.Build(args).Run();
