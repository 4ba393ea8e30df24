"""Talks to the simulator through Ollama's official Python client.

Usage: python3 official_client.py http://127.0.0.1:PORT
Exits 97 when the `ollama` package is missing, 0 when every call parses
into the client's own types with the expected values, 1 otherwise.
"""
import datetime
import sys

try:
    import ollama
except ImportError:
    sys.exit(97)

MODEL = "llama3.2:1b"
client = ollama.Client(host=sys.argv[1], timeout=30)

listed = client.list()
assert [m.model for m in listed.models] == [MODEL, "nomic-embed-text:latest"], listed
first = listed.models[0]
assert first.size > 0 and isinstance(first.modified_at, datetime.datetime), first
assert first.details.family == "llama" and first.details.format == "gguf", first

answer = client.generate(model=MODEL, prompt="why is the sky blue?", options={"num_predict": 3})
assert answer.done and answer.done_reason == "length", answer
assert answer.eval_count == 3 and answer.response.startswith("The sky"), answer
assert answer.total_duration > answer.eval_duration > 0, answer
assert isinstance(answer.context, list), answer

chunks = list(client.generate(model=MODEL, prompt="hi", stream=True, options={"num_predict": 4}))
assert len(chunks) == 5, chunks
assert all(not c.done for c in chunks[:-1]), chunks
assert chunks[-1].done and chunks[-1].done_reason == "length", chunks[-1]
assert "".join(c.response for c in chunks) == answer.response + " blue", chunks

running = client.ps()
assert [m.model for m in running.models] == [MODEL], running
loaded = running.models[0]
assert loaded.size_vram == loaded.size > 0 and loaded.context_length == 4096, loaded
now = datetime.datetime.now(datetime.timezone.utc)
assert now < loaded.expires_at < now + datetime.timedelta(minutes=6), loaded

pinned = client.generate(model=MODEL, prompt="", keep_alive=-1)
assert pinned.done_reason == "load", pinned
assert client.ps().models[0].expires_at.year >= 2300, client.ps()

chat = client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], options={"num_predict": 2})
assert chat.message.role == "assistant" and chat.message.content == "The sky", chat
assert chat.done_reason == "length" and chat.eval_count == 2, chat
parts = list(client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, options={"num_predict": 2}))
assert [p.message.content for p in parts] == ["The", " sky", ""] and parts[-1].done, parts

vectors = client.embed(model="nomic-embed-text", input=["a", "b"])
assert len(vectors.embeddings) == 2 and len(vectors.embeddings[0]) == 768, vectors

try:
    client.generate(model="nope", prompt="x")
    raise AssertionError("an unknown model must raise")
except ollama.ResponseError as err:
    assert err.status_code == 404 and err.error == "model 'nope' not found", err

unloaded = client.generate(model=MODEL, prompt="", keep_alive=0)
assert unloaded.done_reason == "unload", unloaded
print("official client OK")
