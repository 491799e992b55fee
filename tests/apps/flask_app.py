"""A small Flask app for stage-04's framework tests."""

from flask import Flask, jsonify, redirect, request, send_file, url_for

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask\n"


@app.post("/api/items")
def create_item():
    item = request.get_json()
    return jsonify(created=item, content_type=request.content_type), 201


@app.post("/form")
def form():
    return f"Hello, {request.form['name']} ({len(request.form)} fields)\n"


@app.get("/old")
def old():
    return redirect(url_for("new"))


@app.get("/new")
def new():
    return "moved here\n"


@app.get("/echo/<word>")
def echo(word):
    return jsonify(word=word, query=request.args.to_dict(flat=False))


@app.get("/download")
def download():
    # send_file hands the open file to wsgi.file_wrapper when the server
    # offers one. The client names a file it made; a test fixture only.
    return send_file(request.args["path"], mimetype="application/octet-stream")
