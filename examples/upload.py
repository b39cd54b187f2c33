"""A multipart upload streamed to disk, whatever its size.

    python examples/upload.py
    curl -F 'file=@big.iso' localhost:8080/upload

`request.post()` spools file parts to temporary files above a threshold, so memory stays flat;
here the file part is moved into UPLOAD_DIR and its size and SHA-256 are returned.
"""

import asyncio
import hashlib
import os
import pathlib
import tempfile

from ketch import web

UPLOAD_DIR = pathlib.Path(os.environ.get("UPLOAD_DIR", tempfile.gettempdir())) / "ketch-uploads"


def save(field: web.FileField, path: pathlib.Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        while chunk := field.file.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


async def upload(request: web.Request) -> web.Response:
    form = await request.post()
    field = form.get("file")
    if not isinstance(field, web.FileField):
        raise web.HTTPBadRequest(text="send the file as the multipart field 'file'")
    name = pathlib.Path(field.filename).name  # the client's name, without its directories
    if name in ("", ".", ".."):
        name = "upload.bin"
    # Copying a large file is disk work: do it off the event loop.
    digest = await asyncio.to_thread(save, field, UPLOAD_DIR / name)
    return web.json_response({"name": name, "size": field.size, "sha256": digest})


app = web.Application(client_max_size=8 * 1024**3)  # 8 GiB: uploads are streamed, not held
app.add_routes([web.post("/upload", upload)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
