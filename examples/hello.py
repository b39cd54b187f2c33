from ketch import web
import asyncio

async def handle(request):
    return web.Response(text="Hello!\n")

async def main(host, port):
    app = web.Application()
    app.add_routes([web.get('/', handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()

asyncio.run(main('127.0.0.1', 8080))
