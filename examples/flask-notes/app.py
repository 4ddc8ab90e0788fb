"""A shared note, edited by anyone, updated live in every open browser.

The classic setup this relay replaces: a Flask app handles the edit, stores
it, and queues a message about the change in Redis. The relay picks the
message up from the Redis Stream and pushes it to every browser viewing the
page, which updates without a reload.

Run (Debian: apt-get install python3-flask python3-redis):

    REDIS_URL=redis://127.0.0.1:6390 RELAY_URL=http://localhost:8787 python3 app.py

with `npm run dev:redis` running the relay, Redis and the Upstash bridge.
"""

import json
import os
import re
import sqlite3
import time

import redis
from flask import Flask, jsonify, render_template_string, request

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6390")
RELAY_URL = os.environ.get("RELAY_URL", "http://localhost:8787")
STREAM_PREFIX = os.environ.get("REDIS_STREAM_PREFIX", "sse:")
DATABASE = os.environ.get("NOTES_DB", os.path.join(os.path.dirname(__file__), "notes.sqlite3"))
# Keep each channel's stream from growing forever; the relay keeps its own history.
STREAM_MAXLEN = 10_000

NOTE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # becomes part of a relay channel name

app = Flask(__name__)
queue = redis.Redis.from_url(REDIS_URL)


def db():
    connection = sqlite3.connect(DATABASE)
    connection.execute("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, text TEXT NOT NULL, updated REAL NOT NULL)")
    return connection


def load(note_id):
    with db() as connection:
        row = connection.execute("SELECT text, updated FROM notes WHERE id = ?", (note_id,)).fetchone()
    return {"id": note_id, "text": row[0] if row else "", "updated": row[1] if row else None}


PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Shared note {{ note.id }}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  textarea { width: 100%; min-height: 10rem; font: inherit; }
  #status { color: #666; font-size: .9rem; }
</style>
<h1>Shared note <code>{{ note.id }}</code></h1>
<p>Open this page in two windows. Save in one; the other updates without reloading.</p>
<form id="edit" method="post" action="/notes/{{ note.id }}">
  <textarea name="text" id="text">{{ note.text }}</textarea>
  <button type="submit">Save</button>
</form>
<p id="note" data-testid="note">{{ note.text }}</p>
<p id="status">connecting…</p>
<script type="module">
  const relay = {{ relay_url | tojson }};
  const channel = {{ channel | tojson }};
  const source = new EventSource(`${relay}/v1/channels/${channel}/events`);
  const status = document.getElementById("status");
  // The page was rendered before the stream opened: fetch the note once the stream is live,
  // so an edit made in between is not missed.
  source.onopen = async () => {
    status.textContent = "live";
    const current = await (await fetch(`/notes/{{ note.id }}.json`)).json();
    document.getElementById("note").textContent = current.text;
  };
  source.onerror = () => (status.textContent = "reconnecting…");
  source.addEventListener("note-updated", (event) => {
    const note = JSON.parse(event.data);
    document.getElementById("note").textContent = note.text;
    const box = document.getElementById("text");
    if (document.activeElement !== box) box.value = note.text;
    status.textContent = `updated (event ${event.lastEventId})`;
  });
  document.getElementById("edit").addEventListener("submit", async (event) => {
    event.preventDefault();
    await fetch(event.target.action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: document.getElementById("text").value }),
    });
  });
</script>
</html>
"""


def check(note_id):
    if not NOTE_ID.match(note_id):
        return jsonify(error="invalid_note_id", message="note ids are 1-64 characters from A-Z a-z 0-9 _ -"), 400
    return None


@app.get("/")
@app.get("/notes/<note_id>")
def page(note_id="welcome"):
    return check(note_id) or render_template_string(PAGE, note=load(note_id), relay_url=RELAY_URL, channel=f"note-{note_id}")


@app.get("/notes/<note_id>.json")
def note_json(note_id):
    return check(note_id) or jsonify(load(note_id))


@app.post("/notes/<note_id>")
def edit(note_id):
    refused = check(note_id)
    if refused:
        return refused
    if request.is_json:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
    else:
        text = request.form.get("text")
    if not isinstance(text, str):
        return jsonify(error="invalid_body", message='send {"text": "..."}'), 400
    now = time.time()
    # 1. Handle the edit as usual: store it.
    with db() as connection:
        connection.execute(
            "INSERT INTO notes (id, text, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET text = excluded.text, updated = excluded.updated",
            (note_id, text, now),
        )
    # 2. Queue a message about the change; the relay delivers it to every viewer.
    change = {"id": note_id, "text": text, "updated": now}
    queue.xadd(
        f"{STREAM_PREFIX}note-{note_id}",
        {"event": "note-updated", "data": json.dumps(change)},
        maxlen=STREAM_MAXLEN,
        approximate=True,
    )
    return jsonify(change)


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
